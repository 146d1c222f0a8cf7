import type { ModelDefinition } from './manifest';

/** A batch worker's run size for a hashed n-gram model, unless SIFT_WORKER_MAX_RUN_SIZE says otherwise. */
export const HASHED_WORKER_RUN_SIZE = 2048;

/**
 * Most texts one run of a model takes in a batch worker: `workerMaxRunSize`
 * (SIFT_WORKER_MAX_RUN_SIZE) when it is set. Otherwise a hashed n-gram model (the bundled ones)
 * takes HASHED_WORKER_RUN_SIZE: its run holds a few KB a text, and a chunk's fresh texts then go in
 * one run rather than four, each with its tensors and call into ONNX Runtime (`worker-cpu.js`
 * with SIFT_MAX_RUN_SIZE=1024 against 256, 4 alternating runs: the worker 2.35 CPU-s mean against
 * 2.48, lower in every pair; see docs/performance.md). Any other model keeps `maxRunSize`
 * (SIFT_MAX_RUN_SIZE): a transformer's activations grow with every text of a run, and 1,024
 * texts of a BERT-sized model would take gigabytes. 2,048: the rows of a chunk (SIFT_CHUNK_SIZE, 2,000).
 */
export function workerRunSize(definition: Pick<ModelDefinition, 'manifest'>, settings: { maxRunSize: number; workerMaxRunSize: number | null }): number {
  if (settings.workerMaxRunSize !== null) return settings.workerMaxRunSize;
  return definition.manifest.tokenizer.kind === 'hashed-ngrams' ? Math.max(settings.maxRunSize, HASHED_WORKER_RUN_SIZE) : settings.maxRunSize;
}
