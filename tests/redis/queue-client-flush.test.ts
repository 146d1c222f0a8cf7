import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { PROJECT_ROOT } from '../support/paths';
import { deleteKeys, TEST_REDIS_URL, testRedis, uniquePrefix } from '../support/redis';

/**
 * The moment of a Redis hiccup that made a worker spin forever: node_redis 3 (bee-queue's client)
 * sends the commands it queued while offline, and the connection is gone by then (its socket no
 * longer writable, the close not yet seen). In a child process of its own, because without the
 * guard the loop never gives the thread back: the child is then killed at the timeout.
 */
const SCENARIO = `
const redis = require('redis');
if (process.env.GUARD === '1') require(${JSON.stringify(path.join(PROJECT_ROOT, 'dist/src/redis/queue-client-flush.js'))}).guardQueueClientFlush();
const client = redis.createClient({ url: process.env.URL, retry_strategy: () => 50 });
const prefix = process.env.PREFIX;
client.once('ready', () => {
  // Two commands queued while the client is not ready, as they are during a reconnect.
  client.ready = false;
  const answers = [];
  const answered = (error, value) => {
    answers.push(error ? 'error: ' + error.message : value);
    if (answers.length === 2) { console.log(JSON.stringify(answers)); client.quit(); }
  };
  client.get(prefix + 'a', answered);
  client.get(prefix + 'b', answered);
  client.ready = true;
  // The connection goes: at once the socket is not writable; its close comes on a later turn.
  client.stream.destroy();
  client.send_offline_queue();
  console.log('flush returned, ' + client.offline_queue.length + ' commands kept');
});
`;

describe('the guard on node_redis 3 sending its offline queue', () => {
  const prefix = uniquePrefix('queue-client-flush');
  let redis: Redis;

  beforeAll(async () => {
    redis = testRedis();
    await redis.mset(`${prefix}a`, 'first', `${prefix}b`, 'second');
  });

  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  const run = (guard: boolean) =>
    promisify(execFile)(process.execPath, ['-e', SCENARIO], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, URL: TEST_REDIS_URL, PREFIX: prefix, GUARD: guard ? '1' : '0' },
      timeout: 5_000,
    });

  it('keeps the commands for the next connection, which answers them in order, rather than spinning', async () => {
    const { stdout } = await run(true);
    expect(stdout.trim().split('\n')).toEqual(['flush returned, 2 commands kept', JSON.stringify(['first', 'second'])]);
  }, 20_000);

  it('is needed: without it the same moment never gives the thread back', async () => {
    await expect(run(false)).rejects.toMatchObject({ killed: true, signal: 'SIGTERM' });
  }, 20_000);
});
