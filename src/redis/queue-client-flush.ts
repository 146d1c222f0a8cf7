/**
 * A fix for the client bee-queue makes its connections with (node_redis 3, unmaintained): when a
 * connection is lost while the client sends the commands it queued offline, its loop takes each
 * command off the queue, finds the socket no longer writable, puts the command back and takes it
 * again, forever, on the process's one thread (redis/node-redis#3073). The process then burns a
 * core, answers nothing and never reconnects. Seen here as a worker that stopped after a Redis
 * hiccup in tests/batches/worker-faults.test.ts, once in a few dozen runs on a loaded machine: a
 * perf record of the stuck worker was all send_offline_queue and internal_send_command.
 *
 * The guarded loop stops at the first command it cannot send and leaves it and the rest on the
 * queue, in order, for the client's next connection, which sends its offline queue again once it
 * is ready.
 */

/** What the guarded loop uses of a node_redis 3 client. */
interface OfflineQueueClient {
  ready: boolean;
  stream: { writable: boolean };
  offline_queue: { shift(): unknown; unshift(command: unknown): unknown };
  internal_send_command(command: unknown): unknown;
  drain(): void;
  send_offline_queue(): void;
}

let guarded = false;

/** Replaces node_redis 3's send_offline_queue with the guarded loop, once per process. */
export function guardQueueClientFlush(): void {
  if (guarded) return;
  guarded = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- node_redis 3 ships no types, and only its prototype is needed
  const { RedisClient } = require('redis') as { RedisClient: { prototype: OfflineQueueClient } };
  RedisClient.prototype.send_offline_queue = function sendOfflineQueue(this: OfflineQueueClient): void {
    for (let command = this.offline_queue.shift(); command; command = this.offline_queue.shift()) {
      if (!this.ready || !this.stream.writable) {
        this.offline_queue.unshift(command);
        break;
      }
      this.internal_send_command(command);
    }
    this.drain();
  };
}
