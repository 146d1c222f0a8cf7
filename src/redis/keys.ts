/**
 * The one place that names Redis keys. Every key starts with the configured prefix, so tests run
 * side by side under their own prefixes and an operator can read the key space at a glance.
 */
export interface RedisKeys {
  readonly prefix: string;
  /** Cached prediction of one text by one model version. */
  prediction(model: string, version: string, textHash: string): string;
  /** Batch record (hash): status, model, counters, timestamps. */
  batch(id: string): string;
  /** Input rows of one chunk of a batch (JSON). */
  batchChunk(id: string, chunk: number): string;
  /** What every chunk key of a batch starts with: `batchChunk(id, n)` is this followed by n (for Lua that builds them). */
  batchChunkPrefix(id: string): string;
  /** Results of a batch by chunk number (hash); a chunk is counted when its field is written. */
  batchResults(id: string): string;
  /**
   * The input rows of a recorded chunk (JSON, as `batchChunk` held them): recording renames the
   * chunk's input to this name, for downloads that echo each row's id and text.
   */
  batchRecordedInput(id: string, chunk: number): string;
  /** The chunks of a batch cut short (see chunk-layout.ts), when it has any. */
  batchChunkCuts(id: string): string;
  /** Every batch by creation time (sorted set). */
  batches(): string;
  /**
   * The batches of one index by creation time (sorted set): every batch, or one owner's, or of
   * one status, or both. `batches()` is the index of every batch. The Lua that moves a batch
   * between status indices builds the same names (see scripts/status-index.ts).
   */
  batchIndex(filter: { owner?: string | null; status?: string | null }): string;
  /**
   * Batches not ended yet, by their last sign of life in ms (sorted set): a chunk recorded, or the
   * upload still arriving. The sweeper looks here for batches stuck without progress.
   */
  activeBatches(): string;
  /** An API key's record (hash): name, scopes, the hash of its secret, when made and revoked. */
  apiKey(id: string): string;
  /** Every API key's id (set). */
  apiKeys(): string;
  /** Held by the worker whose sweeper runs now (so one sweeps at a time). */
  sweeperLock(): string;
  /** The batch an idempotency key created. */
  idempotency(key: string): string;
  /** Pub/sub channel of one batch's progress events. */
  progressChannel(id: string): string;
  /** Prefix bee-queue puts before its own keys (it adds `:`). */
  queuePrefix(): string;
  /** Prefix of the chunk schedule's keys (rings and per-batch hashes, named in scripts/schedule-chunks.ts). */
  schedulePrefix(): string;
  /** A batch's place in the chunk schedule (hash): deleted when it ends or has handed out every chunk. */
  scheduledBatch(id: string): string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    prefix,
    prediction: (model, version, textHash) => `${prefix}pred:${model}:${version}:${textHash}`,
    batch: (id) => `${prefix}batch:${id}`,
    batchChunk: (id, chunk) => `${prefix}batch:${id}:chunk:${chunk}`,
    batchChunkPrefix: (id) => `${prefix}batch:${id}:chunk:`,
    batchResults: (id) => `${prefix}batch:${id}:results`,
    batchRecordedInput: (id, chunk) => `${prefix}batch:${id}:recorded:${chunk}`,
    batchChunkCuts: (id) => `${prefix}batch:${id}:cuts`,
    batches: () => `${prefix}batches`,
    batchIndex: ({ owner, status }) => `${prefix}batches${owner ? `:owner:${owner}` : ''}${status ? `:status:${status}` : ''}`,
    activeBatches: () => `${prefix}batches:active`,
    apiKey: (id) => `${prefix}apikey:${id}`,
    apiKeys: () => `${prefix}apikeys`,
    sweeperLock: () => `${prefix}sweeper:lock`,
    idempotency: (key) => `${prefix}idem:${key}`,
    progressChannel: (id) => `${prefix}progress:${id}`,
    queuePrefix: () => `${prefix}bq`,
    schedulePrefix: () => `${prefix}schedule:`,
    scheduledBatch: (id) => `${prefix}schedule:batch:${id}`,
  };
}
