import BeeQueue from 'bee-queue';
import type { QueueClient, RedisConnections } from '../redis/connections';
import type { RedisKeys } from '../redis/keys';
import type { ChunkJob } from './batch-types';

export const CHUNK_QUEUE = 'chunks';

export interface ChunkQueueOptions {
  connections: RedisConnections;
  keys: RedisKeys;
  /** True in worker processes: they take jobs and run stall detection. */
  isWorker: boolean;
  /** How often a worker proves it still holds its jobs (ms); a job silent for longer runs again elsewhere. */
  stallIntervalMs?: number;
}

/** Retries of a chunk after a transient failure (a lost connection, a crash), with exponential backoff. */
export const CHUNK_RETRIES = 3;

/** The purpose each of bee-queue's clients serves, in its connection name. */
const CLIENT_PURPOSES: Record<string, string> = { client: 'queue', bclient: 'queue-blocking', eclient: 'queue-events' };

/**
 * bee-queue, with each Redis client it makes named as it is made. bee-queue subscribes its events
 * client the moment that client is ready, and Redis refuses CLIENT SETNAME on a subscribed
 * connection, so the name has to go out first: `makeClient` (bee-queue's one factory for its
 * clients, not in its type definitions) is the only place that runs in between.
 */
class NamedChunkQueue extends BeeQueue<ChunkJob> {
  private readonly connections: RedisConnections;

  constructor(settings: BeeQueue.QueueSettings, connections: RedisConnections) {
    // Connect only once `connections` is set: makeClient needs it.
    super(CHUNK_QUEUE, { ...settings, autoConnect: false });
    this.connections = connections;
    void this.connect().catch(() => undefined); // failures are reported through the 'error' event
  }

  makeClient(clientName: string, createNew: boolean): Promise<QueueClient> {
    const make = (BeeQueue.prototype as unknown as { makeClient(name: string, createNew: boolean): Promise<QueueClient> }).makeClient;
    return make.call(this, clientName, createNew).then((client) => {
      this.connections.nameQueueClient(client, CLIENT_PURPOSES[clientName] ?? 'queue');
      return client;
    });
  }
}

/**
 * The bee-queue queue of chunk jobs, under Sift's key prefix. The API enqueues; workers process.
 * bee-queue makes its own Redis clients from the connection factory's settings and connects in the
 * background (`queue.ready()` resolves once it has); its clients are named like every other
 * connection. A job held by a worker that dies is taken back by stall detection and runs again.
 */
export function openChunkQueue(options: ChunkQueueOptions): BeeQueue<ChunkJob> {
  const settings: BeeQueue.QueueSettings = {
    prefix: options.keys.queuePrefix(),
    redis: options.connections.queueSettings(),
    isWorker: options.isWorker,
    getEvents: false,
    sendEvents: false,
    removeOnSuccess: true,
    removeOnFailure: true,
    stallInterval: options.stallIntervalMs ?? 5000,
    // A retry waits out its backoff in bee-queue's delayed set, which only a queue with this set
    // moves back to waiting: without it, a chunk that failed once would never run again.
    activateDelayedJobs: options.isWorker,
  };
  return new NamedChunkQueue(settings, options.connections);
}

export async function enqueueChunk(queue: BeeQueue<ChunkJob>, job: ChunkJob): Promise<void> {
  await queue.createJob(job).retries(CHUNK_RETRIES).backoff('exponential', 500).save();
}
