/**
 * Entry point of one inference worker thread (loaded by Piscina from the compiled .js file).
 * Loads every model once when the thread starts; Piscina marks the thread available only after
 * the exported promise resolves, so no request ever waits for a model to load.
 */
import { workerData } from 'node:worker_threads';
import type { ModelDefinition } from './manifest';
import { LocalInference } from './local-inference';
import type { ScoreMatrix } from './model-runner';

/** A task sent to an inference thread. */
export interface InferenceTask {
  model: string;
  texts: string[];
}

/** What the pool passes each thread at start-up. */
export interface InferenceThreadData {
  definitions: ModelDefinition[];
}

async function initialize(): Promise<(task: InferenceTask) => Promise<ScoreMatrix>> {
  const { definitions } = workerData as InferenceThreadData;
  const models = await LocalInference.start(definitions);
  return ({ model, texts }) => models.score(model, texts);
}

module.exports = initialize();
