import type { Inference, InferenceReadiness } from './inference';
import type { ModelDefinition } from './manifest';
import { ModelRunner, type RuntimeOptions, type ScoreMatrix } from './model-runner';

/**
 * The models loaded once and run on the calling thread. Each run blocks that thread for its
 * length, so a process serving requests uses `InferencePool` instead; a batch worker, which serves
 * nothing, saves the hand-off to a thread and back (see `SIFT_WORKER_INFERENCE_THREADS`).
 */
export class LocalInference implements Inference {
  private constructor(private readonly runners: ReadonlyMap<string, ModelRunner>) {}

  /** Loads (and checks, see ModelRunner.load) every model; one that fails stops the start with its file named. */
  static async start(definitions: readonly ModelDefinition[], runtime: RuntimeOptions = {}): Promise<LocalInference> {
    const runners = new Map<string, ModelRunner>();
    try {
      for (const definition of definitions) runners.set(definition.name, await ModelRunner.load(definition, runtime));
    } catch (error) {
      await Promise.all([...runners.values()].map((runner) => runner.close()));
      throw error;
    }
    return new LocalInference(runners);
  }

  /** The names of the models loaded here. */
  models(): string[] {
    return [...this.runners.keys()];
  }

  async score(model: string, texts: string[]): Promise<ScoreMatrix> {
    const runner = this.runners.get(model);
    if (!runner) throw new Error(`no model ${model} is loaded`);
    return runner.score(texts);
  }

  readiness(): InferenceReadiness {
    return { ok: true, detail: `${this.models().join(', ')} loaded on the worker's own thread` };
  }

  async close(): Promise<void> {
    await Promise.all([...this.runners.values()].map((runner) => runner.close()));
  }
}
