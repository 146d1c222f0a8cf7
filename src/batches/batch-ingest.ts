import { randomBytes } from 'node:crypto';
import type BeeQueue from 'bee-queue';
import { ErrorCodes, userError } from '../errors';
import type { Logger } from '../logger';
import { traceCarrier } from '../tracing/spans';
import type { BatchPriority } from './batch-priority';
import type { BatchStore } from './batch-store';
import type { BatchSnapshot, ChunkJob, InputRow } from './batch-types';
import { removeChunkJobs } from './chunk-queue';
import type { ChunkSchedule } from './chunk-schedule';
import { ChunkCuts } from './chunk-layout';
import { encodeChunk, storedRowsJson, type RowModel } from './row-codec';
import { boundedRow } from './row-bounds';
import { timeLimit } from '../time-limit';
import { retryUntilDone } from './retry-until-done';

export interface IngestOptions {
  /** Rows a chunk job carries at most. */
  chunkSize: number;
  /** Characters of ids and texts a chunk holds at most: a chunk reaching it is cut short (see chunk-layout.ts). */
  chunkCharacters: number;
  /** Rows accepted at most (the inline limit), or Infinity. */
  maxRows: number;
  /** Says what happened to an upload that failed and could not be taken back at once. */
  logger: Logger;
  /** The principal (API key id) the batch belongs to. */
  owner: string;
  /** Where its chunks go in the schedule (see chunk-schedule.ts). */
  priority: BatchPriority;
  /** Sees each chunk's rows as they are stored, in order (storedRowsJson of each stored chunk: the idempotency fingerprint). */
  onStoredRows?: (rowsJson: string) => void;
  /** Told once the whole input is read and queued, just before the batch is listed (its rows). */
  onIngested?: (id: string, rows: number) => void;
  /** Waits, when the client queues rows faster than its rate limit allows, before they are queued. */
  pace?: (rows: number) => Promise<void>;
  /**
   * An upload silent for this long counts as abandoned (its API process died half way): workers
   * skip its chunks and the sweeper removes it. It says it is alive six times as often.
   */
  abandonedAfterMs: number;
}

/** A batch id that sorts by creation time and is unguessable. */
export function newBatchId(): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

/**
 * Reads rows into a new batch: cuts them into chunks as they arrive (each row bounded, see
 * row-bounds.ts), stores each and puts it in the schedule, so workers start while the input is still being read and memory stays flat. The batch is
 * listed only once the whole input has been read. An input that fails for any reason (a bad row,
 * the client gone, Redis lost) leaves nothing behind: its queued jobs are taken back and its keys
 * deleted, at once, or (when Redis is away) in the background as soon as Redis answers again; if
 * this process dies first, workers skip its chunks and the sweeper removes it.
 */
export async function ingestBatch(
  store: BatchStore,
  schedule: ChunkSchedule,
  queue: BeeQueue<ChunkJob>,
  rows: AsyncIterable<InputRow[]>,
  model: RowModel & { maxTextLength: number },
  options: IngestOptions,
): Promise<BatchSnapshot> {
  const id = newBatchId();
  const createdAt = new Date();
  await store.create(id, model, createdAt, options.chunkSize, options.owner, options.priority);
  // The chunks carry the trace context of the submission (the active span here).
  await schedule.open(id, { priority: options.priority, owner: options.owner, trace: traceCarrier() });
  let chunk: InputRow[] = [];
  let characters = 0;
  let chunks = 0;
  let total = 0;
  const cuts = new ChunkCuts(options.chunkSize);
  const flush = async () => {
    const encoded = encodeChunk(chunk);
    options.onStoredRows?.(storedRowsJson(encoded));
    await store.saveChunk(id, chunks, chunk, encoded);
    await schedule.ready(id, chunks + 1);
    cuts.add(chunk.length);
    chunks++;
    chunk = [];
    characters = 0;
  };
  // A slow upload may take minutes between two chunks: it says it is alive meanwhile.
  const heartbeat = setInterval(() => void store.heartbeat(id).catch(() => undefined), options.abandonedAfterMs / 6);
  try {
    for await (const arrived of rows) {
      await options.pace?.(arrived.length);
      for (const row of arrived) {
        if (++total > options.maxRows) {
          throw userError(ErrorCodes.TOO_MANY_ROWS, `The input has more than ${options.maxRows} rows, the limit for inline batches; upload it as a file with POST /batches instead.`);
        }
        const bounded = boundedRow(row, model.maxTextLength);
        chunk.push(bounded);
        characters += (bounded.id?.length ?? 0) + (bounded.text?.length ?? 0);
        if (chunk.length >= options.chunkSize || characters >= options.chunkCharacters) await flush();
      }
    }
    if (chunk.length > 0) await flush();
    if (total === 0) throw userError(ErrorCodes.EMPTY_INPUT, 'The input has no rows; send at least one text.');
    options.onIngested?.(id, total);
    await store.finishIngest(id, total, chunks, cuts);
    await schedule.inputEnded(id);
  } catch (error) {
    // Every chunk saved may have been handed out to the queue (a failure can fall between the two).
    await takeBack(store, queue, id, chunks + 1, options.logger);
    throw error;
  } finally {
    clearInterval(heartbeat);
  }
  return (await store.get(id))!;
}

/** How long a failed upload's answer waits for its take-back; past that it goes on in the background. */
const TAKE_BACK_WAIT_MS = 2000;
/** Waits before trying again to take back a failed upload while Redis is away. */
export const TAKE_BACK_RETRY_MS = 1000;
/** Gives up after this long; the sweeper removes what is left. */
export const TAKE_BACK_FOR_MS = 5 * 60_000;

/**
 * Removes a failed upload's queued jobs and keys. When Redis is away this goes on trying in the
 * background (bee-queue's client holds its commands until Redis is back), and the caller answers
 * meanwhile: a Redis outage during an upload leaves no batch and no work behind once Redis is back.
 */
async function takeBack(store: BatchStore, queue: BeeQueue<ChunkJob>, id: string, chunks: number, logger: Logger): Promise<void> {
  const attempt = async () => {
    await removeChunkJobs(queue, id, chunks);
    await store.discard(id, chunks);
  };
  const first = attempt();
  const outcome = await timeLimit(
    first.then(() => 'done' as const, () => 'failed' as const),
    TAKE_BACK_WAIT_MS,
    () => 'waiting' as const,
  );
  if (outcome === 'done') return;
  logger.warn(`batch ${id}: the upload failed and its queued chunks cannot be removed yet (Redis is not answering); trying again until it does`);
  void (async () => {
    const done = (await first.then(() => true, () => false)) || (await retryUntilDone(attempt, { everyMs: TAKE_BACK_RETRY_MS, forMs: TAKE_BACK_FOR_MS }));
    if (done) logger.info(`batch ${id}: the failed upload's queued chunks and record are removed`);
    else logger.warn(`batch ${id}: could not remove a failed upload in ${TAKE_BACK_FOR_MS / 60_000} min; the sweeper will`);
  })();
}
