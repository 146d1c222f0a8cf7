import BeeQueue from 'bee-queue';
import type { RedisKeys } from '../redis/keys';
import type { ChunkJob } from './batch-types';

export const CHUNK_QUEUE = 'chunks';

export interface ChunkQueueOptions {
  redisUrl: string;
  keys: RedisKeys;
  /** True in worker processes: they take jobs and run stall detection. */
  isWorker: boolean;
  /** How often a worker proves it still holds its jobs (ms); a job silent for longer runs again elsewhere. */
  stallIntervalMs?: number;
}

/** Retries of a chunk after a transient failure (a lost connection, a crash), with exponential backoff. */
export const CHUNK_RETRIES = 3;

/**
 * The bee-queue queue of chunk jobs, under Sift's key prefix. The API enqueues; workers process.
 * bee-queue brings its own Redis client; a job held by a worker that dies is taken back by stall
 * detection and runs again.
 */
export function openChunkQueue(options: ChunkQueueOptions): BeeQueue<ChunkJob> {
  return new BeeQueue<ChunkJob>(CHUNK_QUEUE, {
    prefix: options.keys.queuePrefix(),
    redis: { url: options.redisUrl } as never,
    isWorker: options.isWorker,
    getEvents: false,
    sendEvents: false,
    removeOnSuccess: true,
    removeOnFailure: true,
    stallInterval: options.stallIntervalMs ?? 5000,
    // A retry waits out its backoff in bee-queue's delayed set, which only a queue with this set
    // moves back to waiting: without it, a chunk that failed once would never run again.
    activateDelayedJobs: options.isWorker,
  });
}

export async function enqueueChunk(queue: BeeQueue<ChunkJob>, job: ChunkJob): Promise<void> {
  await queue.createJob(job).retries(CHUNK_RETRIES).backoff('exponential', 500).save();
}
