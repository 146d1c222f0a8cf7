import BeeQueue from 'bee-queue';
import type { Redis } from 'ioredis';
import type { BatchPriority } from '../../src/batches/batch-priority';
import { BatchStore } from '../../src/batches/batch-store';
import type { ChunkJob } from '../../src/batches/batch-types';
import { enqueueChunk, jobsKey, waitingKey } from '../../src/batches/chunk-queue';
import { ChunkSchedule, LOW_SHARE } from '../../src/batches/chunk-schedule';
import { redisKeys, type RedisKeys } from '../../src/redis/keys';
import { deleteKeys, TEST_REDIS_URL, testRedis, uniquePrefix } from '../support/redis';

/**
 * The scheduling rule, driven directly on real Redis, with no workers: a "take" is what a worker
 * at concurrency 1 does (pop the oldest waiting job, then let the schedule refill the window).
 * The orders asserted here are exact: the rule is deterministic.
 */
describe('the chunk schedule', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let schedule: ChunkSchedule;

  beforeEach(() => {
    redis = testRedis();
    keys = redisKeys(uniquePrefix('schedule'));
    schedule = new ChunkSchedule(redis, keys, { window: 1, lowShare: LOW_SHARE, retentionSeconds: 3600 });
  });
  afterEach(async () => {
    await deleteKeys(redis, keys.prefix);
    redis.disconnect();
  });

  /** A batch whose first `chunks` chunks are stored. */
  async function submit(id: string, chunks: number, priority: BatchPriority = 'NORMAL', owner = 'key-a'): Promise<void> {
    await schedule.open(id, { priority, owner });
    await schedule.ready(id, chunks);
  }

  /** Takes `count` jobs as a worker would, in order ('' once none waits). */
  async function take(count: number): Promise<string[]> {
    const taken: string[] = [];
    for (let i = 0; i < count; i++) {
      taken.push((await redis.rpop(waitingKey(keys))) ?? '');
      await schedule.dispatch();
    }
    return taken;
  }

  const batchOf = (job: string) => job.slice(0, job.lastIndexOf(':'));

  it('keeps only the window in the queue: the rest waits in the schedule, in order', async () => {
    await submit('big', 5);
    expect(await redis.lrange(waitingKey(keys), 0, -1)).toEqual(['big:0']);
    expect(await take(6)).toEqual(['big:0', 'big:1', 'big:2', 'big:3', 'big:4', '']);
  });

  it('a small batch submitted behind a big one is served in turn, not after it', async () => {
    await submit('big', 20);
    expect(await take(3)).toEqual(['big:0', 'big:1', 'big:2']);
    await submit('small', 2);
    // big:3 was in the window already; then the two take turns, the newcomer first (big was served last).
    expect(await take(5)).toEqual(['big:3', 'small:0', 'big:4', 'small:1', 'big:5']);
    expect((await take(20)).filter((job) => job !== '').every((job) => batchOf(job) === 'big')).toBe(true);
  });

  it('a batch still uploading (out of its ring whenever it has handed out all it has) does not go ahead of a newcomer', async () => {
    await schedule.open('uploading', { priority: 'NORMAL', owner: 'key-a' });
    await schedule.ready('uploading', 1);
    await schedule.ready('uploading', 2);
    expect(await take(1)).toEqual(['uploading:0']); // hands out chunk 1, and has nothing more
    await schedule.ready('uploading', 4);
    await submit('newcomer', 1, 'NORMAL', 'key-b');
    expect(await take(4)).toEqual(['uploading:1', 'newcomer:0', 'uploading:2', 'uploading:3']);
  });

  it('HIGH chunks go before NORMAL ones; NORMAL goes on when HIGH has none', async () => {
    await submit('normal', 10);
    expect(await take(2)).toEqual(['normal:0', 'normal:1']);
    await submit('urgent', 3, 'HIGH');
    expect(await take(6)).toEqual(['normal:2', 'urgent:0', 'urgent:1', 'urgent:2', 'normal:3', 'normal:4']);
  });

  it('LOW gets every tenth chunk while HIGH and NORMAL have work, so it finishes', async () => {
    await submit('low', 3, 'LOW');
    await submit('high', 100, 'HIGH');
    await submit('normal', 100, 'NORMAL');
    const taken = (await take(40)).map(batchOf);
    // The window held low:0 (it was alone then); after that LOW comes up on turns 10, 20.
    expect(taken.filter((batch) => batch === 'low')).toHaveLength(3);
    expect(taken.indexOf('low')).toBe(0);
    expect(taken.lastIndexOf('low')).toBeLessThan(25);
    // NORMAL waits while HIGH has chunks (LOW's share comes out of HIGH's turns).
    expect(taken.filter((batch) => batch === 'normal')).toHaveLength(0);
  });

  it('two owners with one big batch each get alternate chunks; an owner with two batches does not get two turns', async () => {
    await submit('a1', 10, 'NORMAL', 'key-a');
    await submit('b1', 10, 'NORMAL', 'key-b');
    await submit('a2', 10, 'NORMAL', 'key-a');
    const taken = (await take(13)).map(batchOf);
    expect(taken).toEqual(['a1', 'b1', 'a2', 'b1', 'a1', 'b1', 'a2', 'b1', 'a1', 'b1', 'a2', 'b1', 'a1']);
  });

  it('chunks stored while earlier ones run join the batch where it left off', async () => {
    await schedule.open('streamed', { priority: 'NORMAL', owner: 'key-a' });
    await schedule.ready('streamed', 1);
    expect(await take(2)).toEqual(['streamed:0', '']);
    await schedule.ready('streamed', 3);
    expect(await take(3)).toEqual(['streamed:1', 'streamed:2', '']);
    await schedule.inputEnded('streamed');
    expect(await schedule.nextChunk('streamed')).toBeNull();
  });

  it("an ended batch's chunks leave the schedule at once; its entry and rings are gone", async () => {
    const store = new BatchStore(redis, keys, 3600);
    await store.create('gone', { name: 'm', version: '1', labels: ['x'] }, new Date(), 1, 'key-a');
    for (let chunk = 0; chunk < 50; chunk++) await store.saveChunk('gone', chunk, [{ index: chunk, id: null, text: `row ${chunk}` }]);
    await submit('gone', 50);
    expect(await take(1)).toEqual(['gone:0']);
    await submit('stays', 2);
    await store.end('gone', 'CANCELLED');
    expect(await schedule.nextChunk('gone')).toBeNull();
    // The input of the 48 chunks never handed out goes with them; chunks 0 and 1 (taken, and in
    // the window) keep theirs until a worker meets them and drops it.
    const inputs = await redis.keys(`${keys.batchChunkPrefix('gone')}*`);
    expect(inputs.sort()).toEqual([keys.batchChunk('gone', 0), keys.batchChunk('gone', 1)]);
    // gone:1 was in the queue's window already (a worker skips it: its batch ended); nothing after it.
    expect(await take(4)).toEqual(['gone:1', 'stays:0', 'stays:1', '']);
    await schedule.inputEnded('stays');
    // Nothing of the schedule is left but its turn counter and the rings' marks of who was served last (they expire).
    expect((await redis.keys(`${keys.schedulePrefix()}*`)).filter((key) => !key.endsWith(':served'))).toEqual([`${keys.schedulePrefix()}turns`]);
  });

  it('hands out jobs exactly as bee-queue makes them, trace context included', async () => {
    const queue = new BeeQueue<ChunkJob>('chunks', { prefix: keys.queuePrefix(), redis: { url: TEST_REDIS_URL }, isWorker: false, getEvents: false, sendEvents: false });
    try {
      await enqueueChunk(queue, { batchId: 'made', chunk: 7 });
      await schedule.open('handed', { priority: 'NORMAL', owner: 'key-a', trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
      await schedule.ready('handed', 8);
      // The window (1) is full with made:7: take it, so the schedule hands out handed:0.
      await take(1);
      const [made, handed] = (await redis.hmget(jobsKey(keys), 'made:7', 'handed:0')).map((json) => JSON.parse(json!) as { data: ChunkJob; options: { timestamp: number; retries: number } });
      expect(handed.data).toEqual({ batchId: 'handed', chunk: 0, trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
      expect({ ...handed, data: null, options: { ...handed.options, timestamp: 0 } }).toEqual({ ...made, data: null, options: { ...made.options, timestamp: 0 } });
      // bee-queue reads it back as its own.
      const job = await queue.getJob('handed:0');
      expect(job.data).toEqual(handed.data);
      expect(job.options.retries).toBe(made.options.retries);
    } finally {
      await queue.close();
    }
  });
});
