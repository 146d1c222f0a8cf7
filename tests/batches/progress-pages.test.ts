import { SubmitBatchDocument } from '../../src/client/generated/graphql';
import { startTestApi, type TestApi } from '../support/api';
import { finished } from '../support/batches';
import { range } from '../support/progress';
import { readAll, startTestRelay, type TestRelay } from '../support/relay';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };
const CHUNK_SIZE = 10;
const SETTINGS = { chunksPerEvent: 4, maxEventBytes: 6000, pollMs: 200 };
// 40 short rows (four chunks of a few hundred bytes), then 60 of 400 characters (six chunks of over 4 KB each: the tiny model keeps 402 characters of a text).
const TEXTS = range(100).map((i) => (i < 40 ? `short ${i}` : `${i} ${'long '.repeat(80)}`.slice(0, 400)));

/**
 * One event of rows reads its chunks from Redis at once: rows as long and as escaped as a row may
 * be stored are about 30 KB each, and eight chunks of them took the API to 1.67 GB for one
 * subscription (a review). An event now holds chunks up to a byte budget, and one chunk at least.
 */
describe('the relay cuts its events of rows to a byte budget', () => {
  let t: TestApi;
  let r: TestRelay;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: String(CHUNK_SIZE) });
    r = startTestRelay(t.prefix, SETTINGS);
  });
  afterAll(async () => {
    await worker?.stop();
    await r.close();
    await t.stop();
  });

  it('live and replayed: every row once in order, small chunks four to an event, large ones one to an event', async () => {
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: TEXTS } });
    const live = await r.relay.watch(submitBatch.id, { fromRow: null, withRows: true });
    const liveEvents = readAll(live);
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    await finished(t.client, submitBatch.id);
    // The live subscription ends with the batch's final event: until then the relay's feed may not
    // have seen every chunk recorded, and a replay goes only as far as the feed (a CI run once got
    // the small chunks in two events of 20 rows, the feed two chunks behind a finished batch).
    const liveDone = await liveEvents;
    const replayed = await readAll(await r.relay.watch(submitBatch.id, { fromRow: 0, withRows: true }));
    const bytes = await r.store.storedChunkBytes(submitBatch.id, range(10));
    expect(bytes.slice(0, 4).reduce((a, b) => a + b)).toBeLessThanOrEqual(SETTINGS.maxEventBytes);
    expect(Math.min(...bytes.slice(4))).toBeGreaterThan(SETTINGS.maxEventBytes / 2);

    for (const events of [liveDone, replayed]) {
      const withRows = events.filter((event) => event.rows.length > 0);
      expect(withRows.flatMap((event) => event.rows.map((row) => row.index))).toEqual(range(100));
      for (const event of withRows) {
        const chunks = [...new Set(event.rows.map((row) => Math.floor(row.index / CHUNK_SIZE)))];
        const held = chunks.reduce((sum, chunk) => sum + bytes[chunk], 0);
        expect(chunks.length === 1 || held <= SETTINGS.maxEventBytes).toBe(true);
        expect(chunks.length).toBeLessThanOrEqual(SETTINGS.chunksPerEvent);
      }
    }
    // Replayed from a batch already finished: the small chunks in one event, each large one alone.
    expect(replayed.filter((event) => event.rows.length > 0).map((event) => event.rows.length)).toEqual([40, 10, 10, 10, 10, 10, 10]);
  }, 60_000);

  it('a subscriber that stops reading is ended once its waiting rows hold too many characters, far below the rows it may have waiting', async () => {
    // At least three events' worth always may wait (pacing lets that many): 3 x 4,000 characters here, against the 24,000 of all the rows.
    const own = startTestRelay(t.prefix, { ...SETTINGS, maxPendingRows: 10_000, maxPendingCharacters: 5000 });
    try {
      // Both subscribe before any row is labelled: the live feed sends every row to both.
      await worker?.stop();
      const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: TEXTS } });
      const stuck = await own.relay.watch(submitBatch.id, { fromRow: null, withRows: true });
      const reader = await own.relay.watch(submitBatch.id, { fromRow: null, withRows: true });
      worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
      const read = await readAll(reader);
      expect(read.flatMap((event) => event.rows.map((row) => row.index))).toEqual(range(100));
      expect(stuck.ended).toBe(true);
      expect(stuck.pendingCharacters).toBe(0);
      // Cut where it stood: nothing waits for it but the error, which says to resume from row 0.
      expect(stuck.pendingRows).toBe(0);
      const { value } = await stuck.next();
      expect(value && 'error' in value ? [value.error.code, value.error.message] : value).toEqual(['SUBSCRIBER_TOO_SLOW', expect.stringMatching(/fromRow: 0 /)]);
    } finally {
      await own.close();
    }
  }, 60_000);
});
