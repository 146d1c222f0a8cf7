import path from 'node:path';
import { Piscina } from 'piscina';
import { ErrorCodes, setupError } from '../errors';
import type { Inference, InferenceReadiness } from './inference';
import type { ModelDefinition } from './manifest';
import type { RuntimeOptions, ScoreMatrix } from './model-runner';
import type { InferenceTask, InferenceThreadData, ThreadReport } from './inference-thread';

export interface InferencePoolOptions {
  definitions: readonly ModelDefinition[];
  /** Threads to start; all stay warm. */
  threads: number;
  runtime?: RuntimeOptions;
  /** Told of a thread that fails after start-up (Piscina replaces it). */
  onThreadError?: (error: Error) => void;
}

/**
 * Worker threads that run the models, so `InferenceSession.run` (synchronous on its thread) never
 * stalls the event loop that serves requests. Threads start together and stay warm: a lazily
 * started thread would load its models during the first requests. The pool knows which threads
 * have their models loaded: a thread that dies is replaced by Piscina, and counts again once its
 * replacement has loaded them.
 */
export class InferencePool implements Inference {
  /** Models loaded, by thread id, for the threads alive now. */
  private readonly loaded = new Map<number, string[]>();

  private constructor(
    private readonly pool: Piscina<InferenceTask, ScoreMatrix>,
    readonly threads: number,
    private readonly models: readonly string[],
  ) {}

  /**
   * Starts `threads` threads and resolves once each has loaded (and checked, see
   * ModelRunner.load) every model; a model that fails to load stops the start with its message.
   */
  static async start(options: InferencePoolOptions): Promise<InferencePool> {
    const { definitions, threads, runtime = {}, onThreadError = () => undefined } = options;
    const workerData: InferenceThreadData = { definitions: [...definitions], runtime };
    const piscina = new Piscina<InferenceTask, ScoreMatrix>({
      filename: path.join(__dirname, 'inference-thread.js'),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      workerData,
    });
    const pool = new InferencePool(piscina, threads, definitions.map((d) => d.name));
    // A thread that crashes after start-up is replaced; say so rather than crash the process.
    piscina.on('error', onThreadError);
    try {
      await pool.allReported();
    } catch (error) {
      await piscina.destroy();
      throw error;
    }
    return pool;
  }

  /** Resolves once every thread has reported its models loaded; rejects on the first failure. */
  private allReported(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pool.on('message', (report: ThreadReport) => {
        if (report?.sift === 'failed') reject(setupError(ErrorCodes.BAD_MODEL, report.message));
        if (report?.sift !== 'loaded') return;
        this.loaded.set(report.threadId, report.models);
        if (this.loaded.size >= this.threads) resolve();
      });
      this.pool.on('workerDestroy', (worker: { threadId: number }) => this.loaded.delete(worker.threadId));
      this.pool.on('error', (error: Error) => reject(error));
    });
  }

  score(model: string, texts: string[]): Promise<ScoreMatrix> {
    return this.pool.run({ model, texts });
  }

  readiness(): InferenceReadiness {
    const ready = [...this.loaded.values()].filter((models) => this.models.every((m) => models.includes(m))).length;
    return { ok: ready >= this.threads, detail: `${this.models.join(', ')} loaded on ${ready} of ${this.threads} inference thread(s)` };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
