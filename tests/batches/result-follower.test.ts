import { Redis } from 'ioredis';
import { BatchStore, READ_BYTES } from '../../src/batches/batch-store';
import { followResults, type FollowTiming } from '../../src/batches/result-follower';
import { encodeChunkOutcomes, type ResultChunk } from '../../src/batches/row-codec';
import { redisKeys } from '../../src/redis/keys';
import { range } from '../support/progress';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

// The follower driven directly against real Redis: chunks recorded out of order, a batch that
// ends, and a follow that is stopped while it waits.
const prefix = uniquePrefix('follower');
const keys = redisKeys(prefix);
const model = { name: 'm', version: 'v1', labels: ['no', 'yes'] };
const quick: FollowTiming = { firstWaitMs: 5, longestWaitMs: 20 };
let redis: Redis;
let store: BatchStore;
let next = 0;

beforeAll(() => {
  redis = testRedis();
  store = new BatchStore(redis, keys, 3600);
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

/** A batch of `chunks` chunks of one row each, its input stored. */
async function newBatch(chunks: number): Promise<string> {
  const id = `batch-${next++}`;
  await store.create(id, model, new Date(), 1, 'owner');
  for (let chunk = 0; chunk < chunks; chunk++) await store.saveChunk(id, chunk, [{ index: chunk, id: `r${chunk}`, text: `text ${chunk}` }]);
  await store.finishIngest(id, chunks, chunks);
  return id;
}

/** A batch of `chunks` chunks of one row each, its text 3 MB, its input stored. */
async function newBatchOf3MbRows(chunks: number): Promise<string> {
  const id = `batch-${next++}`;
  await store.create(id, model, new Date(), 1, 'owner');
  for (let chunk = 0; chunk < chunks; chunk++) await store.saveChunk(id, chunk, [{ index: chunk, id: `r${chunk}`, text: `${chunk} ${'x'.repeat(3 * 2 ** 20)}` }]);
  await store.finishIngest(id, chunks, chunks);
  return id;
}

function record(id: string, chunk: number) {
  return store.recordChunk(id, chunk, chunk, { succeeded: 1, failed: 0, cached: 0, labels: { yes: 1 } }, 1, encodeChunkOutcomes([{ scoresJson: '[0.25,0.75]', cached: false, error: null }]));
}

/** The indices of the rows the follower gives, until it ends. */
async function follow(pages: AsyncGenerator<ResultChunk[]>): Promise<number[]> {
  const indices: number[] = [];
  for await (const page of pages) {
    for (const chunk of page) {
      const rows = 'rows' in chunk ? chunk.rows.length : (JSON.parse(chunk.outcomes) as unknown[]).length;
      for (let i = 0; i < rows; i++) indices.push(chunk.first + i);
    }
  }
  return indices;
}

describe("following a batch's results", () => {
  it('gives every chunk once, in input order, though they are recorded out of order, and ends when the batch completes', async () => {
    const id = await newBatch(12);
    const following = follow(followResults(store, id, 12, false, new AbortController().signal, quick));
    // Recorded from the end backwards, a little at a time: the follower must hold what it read ahead.
    for (let chunk = 11; chunk >= 0; chunk--) {
      await record(id, chunk);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    expect(await following).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect((await store.state(id))?.status).toBe('COMPLETED');
  });

  it('ends with the chunks recorded when the batch is cancelled, skipping those that never come', async () => {
    const id = await newBatch(6);
    await record(id, 0);
    await record(id, 2);
    const following = follow(followResults(store, id, 6, false, new AbortController().signal, quick));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await store.end(id, 'CANCELLED');
    expect(await following).toEqual([0, 2]);
  });

  it('stops waiting when its signal aborts (the client left, the server stops), with the abort reason', async () => {
    const id = await newBatch(3);
    const stop = new AbortController();
    const following = follow(followResults(store, id, 3, false, stop.signal, { firstWaitMs: 60_000, longestWaitMs: 60_000 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    stop.abort(new Error('the server is stopping'));
    await expect(following).rejects.toThrow('the server is stopping');
  });

  it('ends at once for a batch that does not exist', async () => {
    expect(await follow(followResults(store, 'no-such-batch', 5, false, new AbortController().signal, quick))).toEqual([]);
  });

  it('holds and gives at most READ_BYTES of chunks at once, though chunks past a missing one pile up, and then gives every one', async () => {
    // Ten chunks of one row each whose text is 3 MB: with the input echoed, two fit in READ_BYTES.
    const id = await newBatchOf3MbRows(10);
    for (let chunk = 1; chunk < 10; chunk++) await record(id, chunk);
    const pages: number[][] = [];
    const following = (async () => {
      for await (const page of followResults(store, id, 10, true, new AbortController().signal, quick)) pages.push(page.map((chunk) => chunk.first));
    })();
    // Chunk 0 comes last, after the follower has read ahead as far as it may.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await record(id, 0);
    await following;
    expect(pages.flat()).toEqual(range(10));
    expect(Math.max(...pages.map((page) => page.length))).toBeLessThanOrEqual(Math.floor(READ_BYTES / (3 * 2 ** 20)));
  });

  it('gives a chunk recorded between its measure and its read in a page of its own, not with READ_BYTES more', async () => {
    // Four chunks of 3 MB; 1 to 3 recorded; chunk 0 recorded just before the follower's second read,
    // after that round measured it as not recorded (a review forced it so; a random schedule met it too).
    const id = await newBatchOf3MbRows(4);
    for (let chunk = 1; chunk < 4; chunk++) await record(id, chunk);
    let reads = 0;
    const racing = Object.create(store) as BatchStore;
    racing.storedChunks = async (batch, chunks, withInput) => {
      if (++reads === 2) await record(id, 0);
      return store.storedChunks(batch, chunks, withInput);
    };
    const pages: number[][] = [];
    for await (const page of followResults(racing, id, 4, true, new AbortController().signal, quick)) pages.push(page.map((chunk) => chunk.first));
    expect(pages.flat()).toEqual(range(4));
    for (const page of pages.filter((chunks) => chunks.length > 1)) {
      expect((await store.storedChunkBytes(id, page)).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(READ_BYTES);
    }
  });
});
