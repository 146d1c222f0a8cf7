import { Redis } from 'ioredis';
import { BatchEvents, type EndedBatchEvent } from '../../src/batches/batch-events';
import { BatchStore } from '../../src/batches/batch-store';
import { encodeChunk, encodeChunkOutcomes, type StoredChunkResults } from '../../src/batches/row-codec';
import { redisKeys } from '../../src/redis/keys';
import { freePort } from '../support/api';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';
import { startRedisServer } from '../support/redis-server';

// The Lua scripts that change a batch record, driven directly against real Redis: no API, no worker.
const prefix = uniquePrefix('scripts');
const keys = redisKeys(prefix);
const model = { name: 'm', version: 'v1', labels: ['no', 'yes'] };
let redis: Redis;
let store: BatchStore;
let next = 0;

const events = new BatchEvents();
beforeAll(() => {
  redis = testRedis();
  store = new BatchStore(redis, keys, 3600, events);
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

/** A new batch record cut into chunks of 2 rows. */
async function newBatch(): Promise<string> {
  const id = `batch-${next++}`;
  await store.create(id, model, new Date(), 2, 'owner-a');
  return id;
}

/** Two rows' outcomes, one of them failed. */
const outcomes = encodeChunkOutcomes([{ scoresJson: '[0.2,0.8]', cached: true, error: null }, { scoresJson: null, cached: false, error: 'empty' }]);

/** Stores chunk `chunk`'s input (2 rows), as an upload does. */
function saveInput(id: string, chunk: number) {
  return store.saveChunk(id, chunk, [{ index: chunk * 2, id: `r${chunk * 2}`, text: 'a' }, { index: chunk * 2 + 1, id: null, text: '' }]);
}

/** Records chunk `chunk` (2 rows, one of them failed), its input saved first unless it was recorded already. */
async function record(id: string, chunk: number) {
  if (!(await redis.hexists(keys.batchResults(id), String(chunk)))) await saveInput(id, chunk);
  return store.recordChunk(id, chunk, chunk * 2, { succeeded: 1, failed: 1, cached: 1, labels: { yes: 1 } }, 2, outcomes);
}

async function counts(id: string) {
  const hash = await redis.hgetall(keys.batch(id));
  return { status: hash.status, processed: Number(hash.processed), succeeded: Number(hash.succeeded), failed: Number(hash.failed), cached: Number(hash.cached) };
}

describe('recordChunk', () => {
  it('counts a chunk once: recording it again (a retry after a crash) changes nothing', async () => {
    const id = await newBatch();
    expect(await record(id, 0)).toEqual({ outcome: 'counted', status: 'RUNNING', started: true });
    expect(await record(id, 0)).toEqual({ outcome: 'already-counted', status: 'RUNNING', started: false });
    expect(await counts(id)).toEqual({ status: 'RUNNING', processed: 2, succeeded: 1, failed: 1, cached: 1 });
    await store.finishIngest(id, 4, 2);
    expect((await store.get(id))?.labelCounts).toEqual([{ label: 'no', count: 0 }, { label: 'yes', count: 1 }]);
    expect(await redis.hget(keys.batch(id), 'startedAt')).not.toBeNull();
  });

  it('stores the outcomes, and keeps the input as the upload stored it under its recorded name, to expire with the results', async () => {
    const id = await newBatch();
    const input = await redis.get(keys.batchChunk(id, 3)).then(async (found) => found ?? (await saveInput(id, 3), redis.get(keys.batchChunk(id, 3))));
    await record(id, 3);
    expect(await redis.exists(keys.batchChunk(id, 3))).toBe(0);
    expect(await redis.get(keys.batchRecordedInput(id, 3))).toBe(input);
    expect(await redis.hget(keys.batchResults(id), '3')).toBe(`{"first":6,"output":${outcomes}}`);
    const ttl = await redis.ttl(keys.batchRecordedInput(id, 3));
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
    expect(await store.results(id, 6, 2)).toEqual([
      { index: 6, id: 'r6', text: 'a', error: null, prediction: expect.objectContaining({ label: 'yes', score: 0.8, cached: true }) },
      { index: 7, id: null, text: '', error: 'empty', prediction: null },
    ]);
  });

  it('keeps a recorded input as it is when the chunk is recorded again, and renames none for a batch that ended', async () => {
    const id = await newBatch();
    await record(id, 1);
    await redis.expire(keys.batchRecordedInput(id, 1), 1000);
    const input = await redis.get(keys.batchRecordedInput(id, 1));
    expect(await record(id, 1)).toMatchObject({ outcome: 'already-counted' });
    expect(await redis.get(keys.batchRecordedInput(id, 1))).toBe(input);
    expect(await redis.ttl(keys.batchRecordedInput(id, 1))).toBeLessThanOrEqual(1000);
    // Cancelled: the rows recorded so far stay readable with their ids and texts; a chunk in
    // flight records nothing and its input goes.
    await store.end(id, 'CANCELLED');
    expect(await record(id, 2)).toMatchObject({ outcome: 'batch-ended' });
    expect(await redis.exists(keys.batchChunk(id, 2), keys.batchRecordedInput(id, 2))).toBe(0);
    expect((await store.rowsOfChunks(id, model, [1, 2])).map((row) => [row.index, row.id, row.text])).toEqual([
      [2, 'r2', 'a'],
      [3, null, ''],
    ]);
  });

  it('a discarded batch leaves no input behind, recorded or not', async () => {
    const id = await newBatch();
    await record(id, 0);
    await saveInput(id, 1);
    await store.discard(id, 2);
    expect(await redis.exists(keys.batch(id), keys.batchResults(id), keys.batchChunk(id, 0), keys.batchChunk(id, 1), keys.batchRecordedInput(id, 0), keys.batchRecordedInput(id, 1))).toBe(0);
  });

  it('refuses, recording and counting nothing, a chunk whose input is gone', async () => {
    const id = await newBatch();
    await expect(store.recordChunk(id, 0, 0, { succeeded: 1, failed: 1, cached: 1, labels: { yes: 1 } }, 2, outcomes)).rejects.toThrow(/chunk 0 of batch .* has no input/);
    expect(await counts(id)).toMatchObject({ status: 'QUEUED', processed: 0 });
    expect(await store.recordedChunks(id)).toEqual([]);
  });

  it('says so when the batch record is gone, and stores nothing', async () => {
    // Its input as an upload stored it before the record went (saveChunk itself now refuses a batch with no record).
    await redis.set(keys.batchChunk('no-such-batch', 0), encodeChunk([{ index: 0, id: 'r0', text: 'a' }, { index: 1, id: null, text: '' }]));
    expect(await store.recordChunk('no-such-batch', 0, 0, { succeeded: 1, failed: 1, cached: 1, labels: { yes: 1 } }, 2, outcomes)).toEqual({ outcome: 'no-batch', status: null, started: false });
    expect(await redis.exists(keys.batchResults('no-such-batch'))).toBe(0);
    await redis.del(keys.batchChunk('no-such-batch', 0));
  });
});

describe('an upload whose batch record is gone (Redis restarted without its data)', () => {
  it('is refused REDIS_UNAVAILABLE when it stores a chunk or ends, and its end lists nothing', async () => {
    const lost = /Redis lost batch lost-batch while its input was read .* Send it again\./;
    await expect(saveInput('lost-batch', 0)).rejects.toMatchObject({ code: 'REDIS_UNAVAILABLE', retryAfterSeconds: 2, message: expect.stringMatching(lost) });
    await redis.del(keys.batchChunk('lost-batch', 0), keys.batch('lost-batch'));
    await expect(store.finishIngest('lost-batch', 2, 1)).rejects.toMatchObject({ code: 'REDIS_UNAVAILABLE', message: expect.stringMatching(lost) });
    // Before, the script wrote the counts on a record of its own and failed listing it.
    expect(await redis.exists(keys.batch('lost-batch'))).toBe(0);
    expect(await redis.zscore(keys.batches(), 'lost-batch')).toBeNull();
  });

  it('its heartbeat makes no record of its own (one field, no expiry, kept for ever); a live one is touched', async () => {
    await store.heartbeat('lost-batch');
    expect(await redis.exists(keys.batch('lost-batch'))).toBe(0);
    expect(await redis.zscore(keys.activeBatches(), 'lost-batch')).toBeNull();
    const id = await newBatch();
    await redis.hset(keys.batch(id), 'aliveAt', 1);
    await store.heartbeat(id);
    expect(Number(await redis.hget(keys.batch(id), 'aliveAt'))).toBeGreaterThan(Date.now() - 60_000);
    expect(Number(await redis.zscore(keys.activeBatches(), id))).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe('storedChunks: the outcomes alone, for a download that echoes no id or text', () => {
  it('reads the outcomes as the worker recorded them, whatever the texts hold; earlier releases\' chunks too; null for one not recorded', async () => {
    const id = await newBatch();
    const hostile = ['ends with a backslash \\', ',"output":[[1],1,null]', '},"output":[]}', '{"input":{"first":9,', '"', ''];
    const rows = (chunk: number) => hostile.map((text, i) => ({ index: chunk * 2 + i, id: i % 2 ? `},"output":${i}` : null, text }));
    const hostileOutcomes = encodeChunkOutcomes(hostile.map((_, i) => ({ scoresJson: i === 3 ? null : `[0.${i}1,0.${9 - i}9]`, cached: i === 1, error: i === 3 ? 'bad "row"},\n"output":' : null })));
    for (const chunk of [0, 2]) {
      await store.saveChunk(id, chunk, rows(chunk));
      await store.recordChunk(id, chunk, chunk * 2, { succeeded: 5, failed: 1, cached: 1, labels: { yes: 5 } }, 6, hostileOutcomes);
    }
    // A chunk stored by the release before, its input and outcomes joined in one value (its
    // texts as hostile), and one stored before that, each row its id, text and outcome.
    const joinedInput = JSON.stringify({ first: 8, rows: rows(4).map((row) => [row.id, row.text]) });
    await redis.hset(keys.batchResults(id), '4', `{"input":${joinedInput},"output":${hostileOutcomes}}`);
    await redis.hset(keys.batchResults(id), '3', '{"first":6,"rows":[["r6","good",[0.1,0.9],1,null],[null,"",null,0,"The text is empty."]]}');
    expect(await store.storedChunks(id, [0, 1, 2, 3, 4], false)).toEqual([
      { first: 0, outcomes: hostileOutcomes },
      null,
      { first: 4, outcomes: hostileOutcomes },
      { first: 6, outcomes: '[[[0.1,0.9],1,null],[null,0,"The text is empty."]]' },
      { first: 8, outcomes: hostileOutcomes },
    ]);
    // With the input: each chunk's rows as uploaded, whichever release stored them.
    const stored = (await store.storedChunks(id, [4, 3], true)) as StoredChunkResults[];
    expect(stored.map((chunk) => chunk.rows.map(([rowId, text]) => [rowId, text]))).toEqual([rows(4).map((row) => [row.id, row.text]), [['r6', 'good'], [null, '']]]);
    // With the input: parsed, each row's id and text as uploaded.
    const [whole, missing] = (await store.storedChunks(id, [2, 1], true)) as (StoredChunkResults | null)[];
    expect(missing).toBeNull();
    expect(whole?.first).toBe(4);
    expect(whole?.rows.map(([rowId, text]) => [rowId, text])).toEqual(rows(2).map((row) => [row.id, row.text]));
    expect(await store.storedChunks(id, [], false)).toEqual([]);
  });
});

describe('how far rows are recorded in order (contiguousChunks)', () => {
  it('moves past a chunk only once every chunk before it is recorded, whatever order they finish in', async () => {
    const id = await newBatch();
    const contiguous = async () => (await store.progress(id))?.contiguousChunks;
    await store.finishIngest(id, 10, 5);
    await record(id, 2);
    await record(id, 1);
    expect(await contiguous()).toBe(0);
    await record(id, 0);
    expect(await contiguous()).toBe(3);
    await record(id, 4);
    expect(await contiguous()).toBe(3);
    await record(id, 4); // a chunk run again moves nothing
    await record(id, 3);
    expect(await contiguous()).toBe(5);
    expect(await store.recordedChunks(id)).toEqual([0, 1, 2, 3, 4]);
  });

  it("deletes a chunk's input once its rows are recorded", async () => {
    const id = await newBatch();
    await store.saveChunk(id, 0, [{ index: 0, id: null, text: 'a' }, { index: 1, id: null, text: '' }]);
    expect(await redis.exists(keys.batchChunk(id, 0))).toBe(1);
    await record(id, 0);
    expect(await redis.exists(keys.batchChunk(id, 0))).toBe(0);
  });
});

describe('batch events: each said once, by the call that made the change', () => {
  it('started by the first counted chunk, ended COMPLETED by the last; a second cancel says nothing', async () => {
    const started: string[] = [];
    const ended: EndedBatchEvent[] = [];
    const onStarted = (id: string) => started.push(id);
    const onEnded = (event: EndedBatchEvent) => ended.push(event);
    events.on('started', onStarted).on('ended', onEnded);
    try {
      const id = await newBatch();
      await store.finishIngest(id, 4, 2);
      await record(id, 0);
      await record(id, 0);
      await record(id, 1);
      await record(id, 1);
      expect(started.filter((s) => s === id)).toEqual([id]);
      expect(ended.filter((e) => e.batch.id === id).map((e) => [e.status, e.batch.processed])).toEqual([['COMPLETED', 4]]);
      const cancelled = await newBatch();
      await store.finishIngest(cancelled, 2, 1);
      await store.end(cancelled, 'CANCELLED');
      await store.end(cancelled, 'CANCELLED');
      await store.end(cancelled, 'FAILED', 'too late');
      expect(ended.filter((e) => e.batch.id === cancelled).map((e) => e.status)).toEqual(['CANCELLED']);
    } finally {
      events.off('started', onStarted).off('ended', onEnded);
    }
  });
});

describe('listing indices (status-index.ts)', () => {
  const members = (filter: { owner?: string; status?: string }) => redis.zrange(keys.batchIndex(filter), 0, -1);

  it('lists a batch once its input is read, in its owner\'s and its status\'s indices, and moves it as its status changes', async () => {
    const id = await newBatch();
    await record(id, 0);
    expect(await members({})).not.toContain(id);
    await store.finishIngest(id, 4, 2);
    for (const filter of [{}, { owner: 'owner-a' }, { status: 'RUNNING' }, { owner: 'owner-a', status: 'RUNNING' }]) expect(await members(filter)).toContain(id);
    await record(id, 1);
    expect(await members({ status: 'RUNNING' })).not.toContain(id);
    expect(await members({ owner: 'owner-a', status: 'RUNNING' })).not.toContain(id);
    expect(await members({ owner: 'owner-a', status: 'COMPLETED' })).toContain(id);
    const cancelled = await newBatch();
    await store.finishIngest(cancelled, 2, 1);
    expect(await members({ status: 'QUEUED' })).toContain(cancelled);
    await store.end(cancelled, 'CANCELLED');
    expect(await members({ status: 'QUEUED' })).not.toContain(cancelled);
    expect(await members({ owner: 'owner-a', status: 'CANCELLED' })).toContain(cancelled);
    // A page of one status is read from its index: no other batch is looked at.
    const page = await store.list(10, null, { owner: 'owner-a', status: 'CANCELLED' });
    expect(page.edges[0].node.id).toBe(cancelled);
    expect(page.edges.every((e) => e.node.status === 'CANCELLED')).toBe(true);
  });
});

describe('the completion rule', () => {
  it('input finished before the last chunk: the last chunk completes the batch', async () => {
    const id = await newBatch();
    await record(id, 0);
    expect(await store.finishIngest(id, 4, 2)).toBe('RUNNING');
    expect(await record(id, 1)).toEqual({ outcome: 'counted', status: 'COMPLETED', started: false });
    expect(await redis.hget(keys.batch(id), 'finishedAt')).not.toBeNull();
  });

  it('input finished after the last chunk: finishing the input completes the batch', async () => {
    const id = await newBatch();
    await record(id, 0);
    await record(id, 1);
    expect((await counts(id)).status).toBe('RUNNING');
    expect(await store.finishIngest(id, 4, 2)).toBe('COMPLETED');
    expect(await redis.zscore(keys.batches(), id)).not.toBeNull();
  });

  it('input finished before any chunk ran: the batch stays QUEUED until one does', async () => {
    const id = await newBatch();
    expect(await store.finishIngest(id, 2, 1)).toBe('QUEUED');
    expect(await record(id, 0)).toEqual({ outcome: 'counted', status: 'COMPLETED', started: true });
  });
});

describe('endBatch', () => {
  it('cancel in between: the status stays CANCELLED, and a chunk finishing after adds nothing, so the counts are final', async () => {
    const id = await newBatch();
    await record(id, 0);
    expect(await store.end(id, 'CANCELLED')).toBe('CANCELLED');
    const atCancel = await counts(id);
    await store.saveChunk(id, 1, [{ index: 2, id: null, text: 'late' }]);
    expect(await record(id, 1)).toEqual({ outcome: 'batch-ended', status: 'CANCELLED', started: false });
    expect(await store.finishIngest(id, 4, 2)).toBe('CANCELLED');
    expect(await counts(id)).toEqual(atCancel);
    expect(atCancel).toMatchObject({ status: 'CANCELLED', processed: 2 });
    // Its results were not stored, and its input is gone: nothing of it stays behind.
    expect(await store.recordedChunks(id)).toEqual([0]);
    expect(await redis.exists(keys.batchChunk(id, 1))).toBe(0);
  });

  it('leaves a batch that already ended as it was, records a reason, and answers null for no batch', async () => {
    const id = await newBatch();
    await store.finishIngest(id, 2, 1);
    await record(id, 0);
    expect(await store.end(id, 'FAILED', 'too late')).toBe('COMPLETED');
    expect(await redis.hget(keys.batch(id), 'error')).toBeNull();
    const failing = await newBatch();
    expect(await store.end(failing, 'FAILED', 'chunk 3 kept failing')).toBe('FAILED');
    expect(await redis.hget(keys.batch(failing), 'error')).toBe('chunk 3 kept failing');
    expect(await store.end('no-such-batch', 'CANCELLED')).toBeNull();
  });
});

describe('after Redis forgets its scripts (as on a restart)', () => {
  it('every script loads itself again: NOSCRIPT never reaches the caller', async () => {
    // A redis-server of the test's own: flushing the shared one's scripts would break other tests' queues.
    const server = await startRedisServer(await freePort());
    const own = new Redis(server.url);
    const ownStore = new BatchStore(own, keys, 3600);
    try {
      const id = 'flushed';
      await ownStore.create(id, model, new Date(), 2, 'owner-a');
      const rows = encodeChunkOutcomes([{ scoresJson: '[0.2,0.8]', cached: false, error: null }]);
      await ownStore.saveChunk(id, 0, [{ index: 0, id: null, text: 'a' }]);
      await ownStore.saveChunk(id, 1, [{ index: 1, id: null, text: 'b' }]);
      await ownStore.recordChunk(id, 0, 0, { succeeded: 1, failed: 0, cached: 0, labels: { no: 1 } }, 1, rows);
      await own.script('FLUSH');
      expect(await ownStore.recordChunk(id, 1, 1, { succeeded: 1, failed: 0, cached: 0, labels: { no: 1 } }, 1, rows)).toEqual({ outcome: 'counted', status: 'RUNNING', started: false });
      await own.script('FLUSH');
      expect(await ownStore.storedChunks(id, [0, 1], false)).toEqual([
        { first: 0, outcomes: rows },
        { first: 1, outcomes: rows },
      ]);
      await own.script('FLUSH');
      expect(await ownStore.finishIngest(id, 2, 2)).toBe('COMPLETED');
      await own.script('FLUSH');
      expect(await ownStore.end(id, 'CANCELLED')).toBe('COMPLETED');
    } finally {
      own.disconnect();
      await server.kill();
    }
  });
});
