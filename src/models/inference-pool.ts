import path from 'node:path';
import { Piscina } from 'piscina';
import type { Inference } from './local-inference';
import type { ModelDefinition } from './manifest';
import type { ScoreMatrix } from './model-runner';
import type { InferenceTask, InferenceThreadData } from './inference-thread';

/**
 * Worker threads that run the models, so `InferenceSession.run` (synchronous on its thread) never
 * stalls the event loop that serves requests. Threads start together and stay warm: a lazily
 * started thread would load its models during the first requests.
 */
export class InferencePool implements Inference {
  private constructor(private readonly pool: Piscina<InferenceTask, ScoreMatrix>, readonly threads: number) {}

  static async start(definitions: readonly ModelDefinition[], threads: number): Promise<InferencePool> {
    const workerData: InferenceThreadData = { definitions: [...definitions] };
    const pool = new Piscina<InferenceTask, ScoreMatrix>({
      filename: path.join(__dirname, 'inference-thread.js'),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      workerData,
    });
    const inference = new InferencePool(pool, threads);
    // One trial per thread: resolves once the threads have loaded their models.
    const trial = definitions[0];
    await Promise.all(Array.from({ length: threads }, () => inference.score(trial.name, ['warm up'])));
    return inference;
  }

  score(model: string, texts: string[]): Promise<ScoreMatrix> {
    return this.pool.run({ model, texts });
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
