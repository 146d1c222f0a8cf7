/**
 * Entry point of one inference thread (loaded by Piscina from the compiled .js file). Loads
 * every model once when the thread starts, then tells the pool what it loaded (or why it could
 * not); Piscina hands the thread tasks only after the exported promise resolves, so no request
 * waits for a model to load.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { LocalInference } from './local-inference';
import type { ModelDefinition } from './manifest';
import type { RuntimeOptions, ScoreMatrix } from './model-runner';

/** A task sent to an inference thread. */
export interface InferenceTask {
  model: string;
  texts: string[];
}

/** What the pool passes each thread at start-up. */
export interface InferenceThreadData {
  definitions: ModelDefinition[];
  runtime: RuntimeOptions;
}

/** What a thread reports once, after trying to load its models (Piscina relays it as a pool 'message'). */
export type ThreadReport = { sift: 'loaded'; threadId: number; models: string[] } | { sift: 'failed'; threadId: number; message: string };

async function initialize(): Promise<(task: InferenceTask) => Promise<ScoreMatrix>> {
  const { definitions, runtime } = workerData as InferenceThreadData;
  const report = (message: ThreadReport) => parentPort?.postMessage(message);
  try {
    const models = await LocalInference.start(definitions, runtime);
    report({ sift: 'loaded', threadId, models: models.models() });
    return ({ model, texts }) => models.score(model, texts);
  } catch (error) {
    // Throwing here would crash the thread, and Piscina would start another that fails the same
    // way, for ever: report the problem instead, and refuse every task with it.
    const message = (error as Error).message;
    report({ sift: 'failed', threadId, message });
    return () => Promise.reject(new Error(message));
  }
}

module.exports = initialize();
