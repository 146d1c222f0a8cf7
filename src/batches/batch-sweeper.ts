import { randomBytes } from 'node:crypto';
import type BeeQueue from 'bee-queue';
import type { Logger } from '../logger';
import type { RedisKeys } from '../redis/keys';
import { isFinalStatus } from './batch-status';
import type { BatchStore } from './batch-store';
import type { ChunkJob } from './batch-types';
import type { ChunkSchedule } from './chunk-schedule';
import { chunkJobId, enqueueChunk, jobsKey, removeChunkJobs } from './chunk-queue';
import type { ProgressChannel } from './progress-channel';

export interface BatchSweeperOptions {
  store: BatchStore;
  /** Chunks the schedule has not handed out yet are waiting their turn, not lost. */
  schedule: ChunkSchedule;
  queue: BeeQueue<ChunkJob>;
  keys: RedisKeys;
  channel: ProgressChannel;
  logger: Logger;
  /** A batch with no sign of life for this long is looked at. */
  stuckAfterMs: number;
  /** How often to sweep. */
  intervalMs: number;
}

/** What one sweep did, for the log and for tests. */
export interface SweepReport {
  /** False when another worker's sweeper had the turn. */
  swept: boolean;
  looked: number;
  /** Uploads whose API process died half way, removed with their queued chunks. */
  abandoned: string[];
  /** Chunks queued again because their job was gone (batch id -> chunk numbers). */
  requeued: Record<string, number[]>;
  /** Batches ended FAILED because chunks of theirs were lost. */
  failed: string[];
}

/** Batches looked at in one sweep at most; the rest wait for the next. */
const BATCHES_PER_SWEEP = 100;

/**
 * Finds batches stuck without progress and resumes or ends them, so nothing waits on a person.
 * Normal faults never need it (stall detection brings a dead worker's chunks back, a failed upload
 * takes itself back); it is the backstop for what they cannot see:
 * - an upload whose API process died half way (no heartbeat for `stuckAfterMs`): its record,
 *   input and queued chunks are removed, so it leaves no batch and no work;
 * - a running batch with a chunk that has input but no job (a job lost with Redis data): the
 *   chunk is queued again;
 * - a chunk with neither job, input nor results: it can never run, so the batch ends FAILED with
 *   the reason, keeping the rows it has.
 * Every worker runs one; a lock in Redis gives one the turn at a time. Every action is logged.
 */
export class BatchSweeper {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly owner = randomBytes(6).toString('hex');

  constructor(private readonly options: BatchSweeperOptions) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    // Jitter, so the workers of one deployment do not all ask for the turn at the same moment.
    const delay = this.options.intervalMs * (0.75 + Math.random() / 2);
    this.timer = setTimeout(() => {
      this.sweep()
        .catch((error: Error) => this.options.logger.warn(`sweeper: ${error.message}; trying again later`))
        .finally(() => this.schedule());
    }, delay);
  }

  /** One sweep: the scheduling rule in one place, driven directly by tests. */
  async sweep(): Promise<SweepReport> {
    const { store, intervalMs, stuckAfterMs } = this.options;
    const report: SweepReport = { swept: false, looked: 0, abandoned: [], requeued: {}, failed: [] };
    if (!(await store.claimSweep(this.owner, Math.max(intervalMs / 2, 100)))) return report;
    report.swept = true;
    for (const id of await store.quietBatches(stuckAfterMs, BATCHES_PER_SWEEP)) {
      report.looked++;
      await this.look(id, report);
    }
    return report;
  }

  private async look(id: string, report: SweepReport): Promise<void> {
    const { store, queue, keys, channel, logger, stuckAfterMs } = this.options;
    const state = await store.sweepState(id);
    if (!state || isFinalStatus(state.status)) {
      await store.forgetActive(id);
      return;
    }
    if (!state.ingested) {
      if (Date.now() - state.aliveAt < stuckAfterMs) return;
      await removeChunkJobs(queue, id, state.queuedChunks);
      await store.discard(id, state.queuedChunks);
      report.abandoned.push(id);
      logger.info(`sweeper: batch ${id}: its upload stopped ${seconds(Date.now() - state.aliveAt)} ago without finishing (its API process died?); removed it and its ${state.queuedChunks} queued chunk(s)`);
      return;
    }
    const recorded = new Set(await store.recordedChunks(id));
    // Chunks from the schedule's next one on wait their turn there (a LOW batch behind others may
    // wait long): only chunks handed out to the queue can have lost their job.
    const handedOut = (await this.options.schedule.nextChunk(id)) ?? state.chunks;
    const missing = Array.from({ length: Math.min(handedOut, state.chunks) }, (_, chunk) => chunk).filter((chunk) => !recorded.has(chunk));
    const states = await store.chunkStates(id, missing, jobsKey(keys), (chunk) => chunkJobId(id, chunk));
    const lost = states.filter((s) => s.state === 'lost').map((s) => s.chunk);
    if (lost.length > 0) {
      const reason = `Chunk(s) ${list(lost)} were lost (no job, no input and no results: Redis lost data); the rows of the other chunks are kept.`;
      await store.end(id, 'FAILED', reason);
      await channel.statusChanged(id).catch(() => undefined);
      report.failed.push(id);
      logger.warn(`sweeper: batch ${id} ended FAILED: ${reason}`);
      return;
    }
    const unqueued = states.filter((s) => s.state === 'unqueued').map((s) => s.chunk);
    for (const chunk of unqueued) await enqueueChunk(queue, { batchId: id, chunk });
    if (unqueued.length > 0) {
      report.requeued[id] = unqueued;
      logger.info(`sweeper: batch ${id}: queued ${unqueued.length} chunk(s) again that had lost their job (${list(unqueued)})`);
    }
    // Looked at: look again only after another quiet spell (a slow batch is not a stuck one).
    await store.touchActive(id);
  }
}

function list(chunks: readonly number[]): string {
  return chunks.length <= 10 ? chunks.join(', ') : `${chunks.slice(0, 10).join(', ')} and ${chunks.length - 10} more`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
