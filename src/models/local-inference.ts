import type { ModelDefinition } from './manifest';
import { ModelRunner, type ScoreMatrix } from './model-runner';

/** Runs batches of texts through the loaded models (`InferencePool` on threads, `LocalInference` here). */
export interface Inference {
  score(model: string, texts: string[]): Promise<ScoreMatrix>;
  close(): Promise<void>;
}

/**
 * The models loaded once and run on the calling thread. Each run blocks that thread for its
 * length, so a process serving requests uses `InferencePool` instead; a batch worker, which serves
 * nothing, saves the hand-off to a thread and back (see `SIFT_WORKER_INFERENCE_THREADS`).
 */
export class LocalInference implements Inference {
  private constructor(private readonly runners: ReadonlyMap<string, ModelRunner>) {}

  static async start(definitions: readonly ModelDefinition[]): Promise<LocalInference> {
    const runners = new Map<string, ModelRunner>();
    for (const definition of definitions) runners.set(definition.name, await ModelRunner.load(definition));
    return new LocalInference(runners);
  }

  async score(model: string, texts: string[]): Promise<ScoreMatrix> {
    const runner = this.runners.get(model);
    if (!runner) throw new Error(`no model ${model} is loaded`);
    return runner.score(texts);
  }

  async close(): Promise<void> {
    await Promise.all([...this.runners.values()].map((runner) => runner.close()));
  }
}
