import { randomBytes } from 'node:crypto';
import type BeeQueue from 'bee-queue';
import { ErrorCodes, userError } from '../errors';
import type { BatchStore } from './batch-store';
import type { BatchSnapshot, ChunkJob, InputRow } from './batch-types';
import { enqueueChunk } from './chunk-queue';
import type { RowModel } from './row-codec';

export interface IngestOptions {
  /** Rows a chunk job carries. */
  chunkSize: number;
  /** Rows accepted at most (the inline limit), or Infinity. */
  maxRows: number;
}

/** A batch id that sorts by creation time and is unguessable. */
export function newBatchId(): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

/**
 * Reads rows into a new batch: cuts them into chunks as they arrive, stores each and queues it as
 * a job, so workers start while the input is still being read and memory stays flat. The batch is
 * listed only once the whole input has been read; bad input discards it, so it creates no batch.
 */
export async function ingestBatch(
  store: BatchStore,
  queue: BeeQueue<ChunkJob>,
  rows: AsyncIterable<InputRow[]>,
  model: RowModel,
  options: IngestOptions,
): Promise<BatchSnapshot> {
  const id = newBatchId();
  const createdAt = new Date();
  await store.create(id, model, createdAt, options.chunkSize);
  let chunk: InputRow[] = [];
  let chunks = 0;
  let total = 0;
  const flush = async () => {
    await store.saveChunk(id, chunks, chunk);
    await enqueueChunk(queue, { batchId: id, chunk: chunks });
    chunks++;
    chunk = [];
  };
  try {
    for await (const arrived of rows) {
      for (const row of arrived) {
        if (++total > options.maxRows) {
          throw userError(ErrorCodes.TOO_MANY_ROWS, `The input has more than ${options.maxRows} rows, the limit for inline batches; upload it as a file with POST /batches instead.`);
        }
        chunk.push(row);
        if (chunk.length >= options.chunkSize) await flush();
      }
    }
    if (chunk.length > 0) await flush();
    if (total === 0) throw userError(ErrorCodes.EMPTY_INPUT, 'The input has no rows; send at least one text.');
  } catch (error) {
    await store.discard(id, chunks);
    throw error;
  }
  await store.finishIngest(id, total, chunks, createdAt);
  return (await store.get(id))!;
}
