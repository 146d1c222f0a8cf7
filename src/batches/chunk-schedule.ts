import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys';
import type { TraceCarrier } from '../tracing/spans';
import type { BatchPriority } from './batch-priority';
import { CHUNK_RETRIES, jobsKey, waitingKey } from './chunk-queue';
import { chunksReady, dispatchChunks, inputEnded, waitingChunks } from './scripts/schedule-chunks';

export interface ChunkScheduleOptions {
  /**
   * Waiting chunk jobs bee-queue holds at most (SIFT_SCHEDULE_WINDOW). Enough that a worker
   * finishing a chunk finds the next one waiting; every chunk beyond waits in the schedule, where
   * a batch submitted later can still go first.
   */
  window: number;
  /** Every this-many-th chunk handed out asks LOW batches first (see schedule-chunks.ts). */
  lowShare: number;
  /** How long a batch's schedule entry lives at most (the batches' retention). */
  retentionSeconds: number;
}

/** Every 10th chunk goes to a LOW batch when one is waiting: LOW gets at least a tenth of the workers. */
export const LOW_SHARE = 10;

/** What a batch brings to the schedule. */
export interface ScheduledBatch {
  priority: BatchPriority;
  /** Batches are served in turn across owners (API keys) first, then across an owner's batches. */
  owner: string;
  /** The trace context its chunk jobs carry (see ChunkJob.trace). */
  trace?: TraceCarrier;
}

/**
 * The chunk schedule: which chunk the workers take next. Batches wait here with their priority
 * and owner, and bee-queue holds only a small window of chunk jobs; whenever the window has room
 * (a chunk is stored, a worker takes a job, and once a second in every worker) the scheduling rule
 * (scripts/schedule-chunks.ts) picks the chunks to fill it, in one atomic step. So a batch
 * submitted after a big one waits for the window, not for the big batch.
 */
export class ChunkSchedule {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly options: ChunkScheduleOptions,
  ) {}

  /** A new batch, before any of its chunks is stored. */
  async open(id: string, batch: ScheduledBatch): Promise<void> {
    const key = this.keys.scheduledBatch(id);
    await this.redis
      .multi()
      .hset(key, { priority: batch.priority, owner: batch.owner, trace: batch.trace ? JSON.stringify(batch.trace) : '', next: 0, ready: 0, listed: 0 })
      .expire(key, this.options.retentionSeconds)
      .exec();
  }

  /** Chunks 0 to `ready - 1` of a batch are stored; returns the job ids handed out to fill the window. */
  ready(id: string, ready: number): Promise<string[]> {
    return chunksReady.run(this.redis, {}, { ...this.dispatchArgs(), id, ready });
  }

  /** Every chunk of the batch is stored: its entry goes once the last is handed out. */
  async inputEnded(id: string): Promise<void> {
    await inputEnded.run(this.redis, { batch: this.keys.scheduledBatch(id) }, {});
  }

  /** Fills the window; returns the job ids handed out, in order. */
  dispatch(): Promise<string[]> {
    return dispatchChunks.run(this.redis, {}, this.dispatchArgs());
  }

  /**
   * The first chunk of a batch not handed out yet, or null when the batch has no entry (every chunk
   * handed out, or it ended): the sweeper takes chunks from here on as still to come, not lost.
   */
  async nextChunk(id: string): Promise<number | null> {
    const next = await this.redis.hget(this.keys.scheduledBatch(id), 'next');
    return next === null ? null : Number(next);
  }

  /** Chunks stored but not handed out yet, by priority (sift_schedule_chunks). */
  waiting(): Promise<Record<BatchPriority, number>> {
    return waitingChunks.run(this.redis, {}, { schedulePrefix: this.keys.schedulePrefix() });
  }

  private dispatchArgs() {
    return {
      schedulePrefix: this.keys.schedulePrefix(),
      jobsKey: jobsKey(this.keys),
      waitingKey: waitingKey(this.keys),
      window: this.options.window,
      now: Date.now(),
      retries: CHUNK_RETRIES,
      lowShare: this.options.lowShare,
    };
  }
}
