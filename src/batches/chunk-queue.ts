import BeeQueue from 'bee-queue';
import type { QueueClient, RedisConnections } from '../redis/connections';
import type { RedisKeys } from '../redis/keys';
import { guardQueueClientFlush } from '../redis/queue-client-flush';
import { traceCarrier } from '../tracing/spans';
import type { ChunkJob } from './batch-types';

export const CHUNK_QUEUE = 'chunks';

export interface ChunkQueueOptions {
  connections: RedisConnections;
  keys: RedisKeys;
  /** True in worker processes: they take jobs and run stall detection. */
  isWorker: boolean;
  /** How often a worker proves it still holds its jobs (ms); a job silent for longer runs again elsewhere. */
  stallIntervalMs?: number;
  /**
   * Told of the queue's errors (its Redis clients'), from before it connects: an 'error' event
   * with no listener ends the process, and one came before the owner listened (a wrong Redis
   * password, in a worker waiting for the queue to be ready).
   */
  onError(error: Error): void;
}

/** Retries of a chunk after a transient failure (a lost connection, a crash). */
export const CHUNK_RETRIES = 3;

/**
 * How long a chunk that failed waits before it fails for the queue, by how many retries it has
 * left: 0.5, 1 and 2 s. The consumer waits this out itself (see chunk-consumer.ts), and the queue
 * then puts the chunk back at once: bee-queue's own delayed retries depend on a timer that stops
 * for good when one of its Redis calls fails in the wrong way, which a Redis hiccup can do, and
 * then a delayed chunk would never run again.
 */
export function retryDelayMs(retriesLeft: number): number {
  return 500 * 2 ** (CHUNK_RETRIES - retriesLeft);
}

/** The purpose each of bee-queue's clients serves, in its connection name. */
const CLIENT_PURPOSES: Record<string, string> = { client: 'queue', bclient: 'queue-blocking' };

/** bee-queue's Lua scripts by name, as it read them from its own files (filled when a queue connects). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const BEE_QUEUE_SCRIPTS = (require('bee-queue/lib/lua') as { scripts: Record<string, string> }).scripts;

/** node_redis (v3, bee-queue's client), as much of it as makeClient uses. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeRedis = require('redis') as { createClient(settings: object): NodeRedisClient };
interface NodeRedisClient extends QueueClient {
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  end(flush: boolean): void;
}

/** A node_redis client or pipeline as bee-queue runs its scripts on it (callback style). */
interface ScriptRunner {
  eval(...args: unknown[]): unknown;
}

type Callback = (error: Error | null, reply?: unknown) => void;

/**
 * bee-queue, made to survive a Redis restart, with each Redis client it makes named as it is made.
 * Both hooks are bee-queue's own internal methods (not in its type definitions):
 * - `makeClient` is its one factory for its clients;
 * - `_evalScriptOn` runs its Lua scripts by SHA, loaded once when the queue connects. A Redis that
 *   restarts has forgotten them, and every call then fails with NOSCRIPT for good (bee-queue issue
 *   #489): here such a call is sent again with the script itself (EVAL, which also loads it), so
 *   the queue carries on once Redis is back.
 */
class NamedChunkQueue extends BeeQueue<ChunkJob> {
  private readonly connections: RedisConnections;
  private readonly redisSettings: object;

  constructor(settings: BeeQueue.QueueSettings, connections: RedisConnections, onError: (error: Error) => void) {
    // Connect only once `connections` is set: makeClient needs it.
    super(CHUNK_QUEUE, { ...settings, autoConnect: false });
    this.on('error', onError);
    this.connections = connections;
    this.redisSettings = settings.redis as object;
    void this.connect().catch(() => undefined); // failures are reported through the 'error' event
  }

  /**
   * bee-queue's makeClient, with the client's errors listened to from the moment it is made:
   * bee-queue listens only once a client is ready, and drops a client that fails before; such a
   * client can still emit an error after (a wrong Redis password: AUTH refused, then its ready
   * check's INFO refused with NOAUTH), which with no listener ended the process with a stack
   * trace (found by a review). Errors go to the queue's 'error' event, as bee-queue's do.
   */
  makeClient(clientName: string, _createNew: boolean): Promise<QueueClient> {
    // node_redis 3 could spin forever when a connection went as it sent its offline queue.
    guardQueueClientFlush();
    const client = nodeRedis.createClient({ ...this.redisSettings });
    client.on('error', (error: Error) => this.emit('error', error));
    return new Promise<QueueClient>((resolve, reject) => {
      const ready = () => {
        client.removeListener('error', failed);
        (this as unknown as Record<string, unknown>)[clientName] = client;
        this.connections.nameQueueClient(client, CLIENT_PURPOSES[clientName] ?? 'queue');
        resolve(client);
      };
      const failed = (error: Error) => {
        client.removeListener('ready', ready);
        // Not end(true), as bee-queue does: that empties the client's command queue, and the
        // answer to a command already sent (the ready check's INFO) then crashed node_redis.
        client.end(false);
        reject(error);
      };
      client.once('ready', ready);
      client.once('error', failed);
    });
  }

  _evalScriptOn(commandable: ScriptRunner, args: unknown[]): Promise<unknown> {
    const [name, ...rest] = args as [string, ...unknown[]];
    const run = (BeeQueue.prototype as unknown as { _evalScriptOn(on: ScriptRunner, args: unknown[]): Promise<unknown> })._evalScriptOn;
    return run.call(this, commandable, args).catch((error: Error & { code?: string }) => {
      const script = BEE_QUEUE_SCRIPTS[name];
      if (error.code !== 'NOSCRIPT' || script === undefined) throw error;
      return new Promise((resolve, reject) => commandable.eval(script, ...rest, ((failure, reply) => (failure ? reject(failure) : resolve(reply))) as Callback));
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
    // Retries go straight back to waiting (see retryDelayMs), so no delayed jobs and no events
    // client: every client the queue holds takes commands, and reconnects by itself.
    activateDelayedJobs: false,
  };
  return new NamedChunkQueue(settings, options.connections, options.onError);
}

/**
 * A chunk's job id: its batch and number, so whoever knows a batch can find or take back its jobs
 * (an upload that fails, the sweeper), and queueing a chunk whose job is still there does nothing.
 */
export function chunkJobId(batchId: string, chunk: number): string {
  return `${batchId}:${chunk}`;
}

/** The key of bee-queue's hash of jobs by id (read by the sweeper to tell a queued chunk from a lost one). */
export function jobsKey(keys: RedisKeys): string {
  return `${keys.queuePrefix()}:${CHUNK_QUEUE}:jobs`;
}

/** The key of bee-queue's list of waiting job ids (the chunk schedule fills it: see chunk-schedule.ts). */
export function waitingKey(keys: RedisKeys): string {
  return `${keys.queuePrefix()}:${CHUNK_QUEUE}:waiting`;
}

/**
 * Queues a chunk (again, for the sweeper): a job with that chunk's id that still exists is left as
 * it is. The job carries the active trace context, when there is one (a batch submission's span):
 * the worker's span of the chunk is then part of the submission's trace.
 */
export async function enqueueChunk(queue: BeeQueue<ChunkJob>, job: Pick<ChunkJob, 'batchId' | 'chunk'>): Promise<void> {
  const trace = traceCarrier();
  await queue.createJob(trace ? { ...job, trace } : job).setId(chunkJobId(job.batchId, job.chunk)).retries(CHUNK_RETRIES).save();
}

/** Takes back the jobs of chunks 0 to `chunks - 1` of a batch (an upload that failed half way). */
export async function removeChunkJobs(queue: BeeQueue<ChunkJob>, batchId: string, chunks: number): Promise<void> {
  for (let first = 0; first < chunks; first += 100) {
    const ids = Array.from({ length: Math.min(100, chunks - first) }, (_, i) => chunkJobId(batchId, first + i));
    await Promise.all(ids.map((id) => queue.removeJob(id)));
  }
}
