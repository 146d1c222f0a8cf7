import { EventEmitter } from 'node:events';
import type BeeQueue from 'bee-queue';
import type { Logger } from '../logger';
import type { BatchStore } from './batch-store';
import type { ChunkJob } from './batch-types';
import type { ChunkOutcome, ChunkProcessor } from './chunk-processor';
import { retryDelayMs } from './chunk-queue';
import type { ChunkSchedule } from './chunk-schedule';
import type { ProgressChannel } from './progress-channel';

/**
 * How often a worker fills the queue's window from the schedule even when it takes no chunk: a
 * refill that failed (Redis away) is made up for within this.
 */
const REFILL_INTERVAL_MS = 1000;

/** What a consumer reports about each chunk it takes, for its process's logs and for tests. */
export type ChunkEvents = {
  /** A chunk ran to the end (its rows were counted, had been counted already, or had nothing to do). */
  processed: [job: ChunkJob, outcome: ChunkOutcome];
  /** A chunk failed and will run again after its backoff. */
  retrying: [job: ChunkJob, error: Error];
  /** A chunk failed after its last retry; its batch ended FAILED. */
  failed: [job: ChunkJob, error: Error];
};

export interface ChunkConsumerOptions {
  queue: BeeQueue<ChunkJob>;
  /** Fills the queue's window: each chunk taken makes room for the next one the schedule picks. */
  schedule: ChunkSchedule;
  processor: ChunkProcessor;
  store: BatchStore;
  channel: ProgressChannel;
  logger: Logger;
  /** Chunks in hand at once. */
  concurrency: number;
  /** How often to look for chunks held by a worker that died (ms). */
  stallIntervalMs: number;
}

/**
 * Takes chunk jobs from the queue and runs them through the processor, `concurrency` at a time.
 * A chunk that fails runs again after a backoff (0.5, 1, 2 s: bee-queue's retries, with the wait
 * taken here, see retryDelayMs); one that keeps failing ends its batch FAILED with the reason.
 */
export class ChunkConsumer extends EventEmitter<ChunkEvents> {
  private stallTimer: NodeJS.Timeout | undefined;
  private refillTimer: NodeJS.Timeout | undefined;
  /** Set while refills fail (Redis away), so an outage is logged once, not every second. */
  private refillFailing = false;
  private closing = false;

  constructor(private readonly options: ChunkConsumerOptions) {
    super();
  }

  start(): void {
    const { queue, processor, store, channel, logger } = this.options;
    queue.on('retrying', (job, error) => {
      logger.warn(`chunk ${job.data.chunk} of batch ${job.data.batchId} failed (${error.message}); it will run again`);
      this.emit('retrying', job.data, error);
    });
    // bee-queue also emits 'failed' before each retry; 'failed:fatal' is the one after the last.
    queue.on('failed:fatal' as 'failed', (job, error) => {
      logger.error(`chunk ${job.data.chunk} of batch ${job.data.batchId} failed for good: ${error.message}`);
      store
        .end(job.data.batchId, 'FAILED', `Chunk ${job.data.chunk} kept failing: ${error.message}`)
        .then(() => channel.statusChanged(job.data.batchId))
        .catch((cause: Error) => logger.warn(`could not mark batch ${job.data.batchId} FAILED: ${cause.message}`))
        .finally(() => this.emit('failed', job.data, error));
    });
    queue.process(this.options.concurrency, async (job) => {
      // Taking this job made room in the window: the schedule picks what comes after it, while it runs.
      this.refill();
      let outcome: ChunkOutcome;
      try {
        outcome = await processor.process(job.data);
      } catch (error) {
        // The chunk keeps its place (and its heartbeat) while it waits; a worker that dies
        // meanwhile leaves it to the stall check, with its retries unspent.
        const retriesLeft = job.options.retries ?? 0;
        if (retriesLeft > 0) await new Promise((resolve) => setTimeout(resolve, retryDelayMs(retriesLeft)));
        throw error;
      }
      logger.debug(`chunk ${job.data.chunk} of batch ${job.data.batchId}: ${outcome}`);
      this.emit('processed', job.data, outcome);
      return outcome;
    });
    this.scheduleStallCheck();
    this.refillTimer = setInterval(() => this.refill(), REFILL_INTERVAL_MS);
  }

  private refill(): void {
    const { schedule, logger } = this.options;
    schedule.dispatch().then(
      () => {
        if (!this.refillFailing) return;
        this.refillFailing = false;
        logger.info('schedule: filling the queue again');
      },
      (error: Error) => {
        if (this.refillFailing) return;
        this.refillFailing = true;
        logger.warn(`schedule: could not fill the queue (${error.message}); trying again every ${REFILL_INTERVAL_MS / 1000} s`);
      },
    );
  }

  /**
   * bee-queue only finds stalled jobs when asked: every worker asks, so any survivor rescues the
   * chunks of a worker that died. The asking is timed here, one check at a time: bee-queue's own
   * repeating check leaves a failed check's promise unhandled, so one Redis hiccup during a check
   * (a lost connection, a restart) would end the whole worker process.
   */
  private scheduleStallCheck(): void {
    const { queue, logger, stallIntervalMs } = this.options;
    if (this.closing) return;
    this.stallTimer = setTimeout(() => {
      queue
        .checkStalledJobs()
        .catch((error: Error) => logger.warn(`stall check: ${error.message}; trying again in ${stallIntervalMs} ms`))
        .finally(() => this.scheduleStallCheck());
    }, stallIntervalMs);
  }

  /** Takes no new chunks and waits (up to `timeoutMs`) for the ones in hand to finish. */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    clearTimeout(this.stallTimer);
    clearInterval(this.refillTimer);
    await this.options.queue.close(timeoutMs);
  }
}
