import { SubmitBatchDocument } from '../../src/client/generated/graphql';
import type { ProgressEvent, ProgressWatcher } from '../../src/batches/progress-watcher';
import type { SiftError } from '../../src/errors';
import { startTestApi, type TestApi } from '../support/api';
import { range } from '../support/progress';
import { startTestRelay, type TestRelay } from '../support/relay';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };
const CHUNK_SIZE = 50;
// Small pages and a small limit, so that a backlog shows within a 5,000-row batch.
const SETTINGS = { chunksPerEvent: 2, paceEvents: 2, maxPendingRows: 1000, pollMs: 200 };
const PAGE_ROWS = SETTINGS.chunksPerEvent * CHUNK_SIZE;
const ROWS = 5000;

interface Received {
  events: ProgressEvent[];
  error: SiftError | undefined;
  /** The most rows this subscriber ever had waiting (its queue only shrinks when it takes an event, so the peak shows just before a take). */
  peakPendingRows: number;
}

/** Reads a watcher to its end, as graphql-ws does, after `start` (the subscriber reads nothing before). */
async function readAll(watcher: ProgressWatcher, start: Promise<unknown> = Promise.resolve(), onTake: () => void = () => undefined): Promise<Received> {
  await start;
  const received: Received = { events: [], error: undefined, peakPendingRows: 0 };
  for (;;) {
    const before = watcher.pendingRows;
    const step = await watcher.next();
    if (step.done) return received;
    received.peakPendingRows = Math.max(received.peakPendingRows, before, watcher.pendingRows + ('rows' in step.value ? step.value.rows.length : 0));
    if ('error' in step.value) received.error = step.value.error;
    else received.events.push(step.value);
    onTake();
  }
}

const indicesOf = (events: ProgressEvent[]) => events.flatMap((event) => event.rows.map((row) => row.index));

/** Every row once in input order, the final event last and only last, counts that never go down. */
function expectEverything(received: Received): void {
  expect(received.error).toBeUndefined();
  expect(indicesOf(received.events)).toEqual(range(ROWS));
  const statuses = received.events.map((event) => event.batch.status);
  expect(statuses.at(-1)).toBe('COMPLETED');
  expect(statuses.slice(0, -1).filter((status) => status === 'COMPLETED')).toEqual([]);
  expect(received.events.at(-1)!.batch.processed).toBe(ROWS);
  const processed = received.events.map((event) => event.batch.processed);
  expect(processed).toEqual([...processed].sort((a, b) => a - b));
}

describe('the relay sends rows as fast as its row subscribers take them', () => {
  let t: TestApi;
  let r: TestRelay;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: String(CHUNK_SIZE) });
  });
  beforeEach(() => {
    r = startTestRelay(t.prefix, SETTINGS);
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await r.close();
  });
  afterAll(() => t.stop());

  async function submit(tag: string): Promise<string> {
    const texts = Array.from({ length: ROWS }, (_, i) => (i % 97 === 5 ? '' : `${tag} ${i} warm cold hot ${i % 13}`));
    return (await t.client.request(SubmitBatchDocument, { input: { texts } })).submitBatch.id;
  }

  const startWorker = async () => {
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix, SIFT_WORKER_CONCURRENCY: '4' });
  };

  it('row subscribers that read nothing until the batch has ended are paced, not cut; subscribers without rows get their snapshots and the end meanwhile', async () => {
    const id = await submit('paced');
    const rowWatchers = await Promise.all(range(30).map(() => r.relay.watch(id, { fromRow: null, withRows: true })));
    const countWatchers = await Promise.all(range(3).map(() => r.relay.watch(id, { fromRow: null, withRows: false })));
    const counts = Promise.all(countWatchers.map((watcher) => readAll(watcher)));
    await startWorker();
    // The row subscribers read nothing until the counts subscribers have the final event.
    const countsDone = await counts;
    const heldAtTheEnd = rowWatchers.map((watcher) => watcher.pendingRows);
    const rows = await Promise.all(rowWatchers.map((watcher) => readAll(watcher)));

    for (const received of countsDone) {
      expect(received.error).toBeUndefined();
      expect(received.events[0].batch.processed).toBe(0);
      expect(received.events.at(-1)!.batch).toMatchObject({ status: 'COMPLETED', processed: ROWS });
      expect(received.events.every((event) => event.rows.length === 0)).toBe(true);
    }
    // When the batch ended, the relay had sent the row subscribers (none of which had read) two pages at most.
    expect(Math.max(...heldAtTheEnd)).toBeLessThanOrEqual(2 * PAGE_ROWS);
    for (const received of rows) {
      expectEverything(received);
      expect(received.peakPendingRows).toBeLessThanOrEqual((SETTINGS.paceEvents + 1) * PAGE_ROWS);
    }
    // Every subscriber got the same event objects (read and decoded once).
    expect(rows[1].events[1]).toBe(rows[0].events[1]);
    expect(rows[29].events.at(-1)).toBe(rows[0].events.at(-1));
    expect(countsDone[2].events[0]).toBe(countsDone[0].events[0]);
    expect(countsDone[2].events.at(-1)).toBe(countsDone[0].events.at(-1));
    expect(r.relay.watchedBatches).toBe(0);
  }, 60_000);

  it('a subscriber that stops reading holds no one: the others get everything, and it is ended with SUBSCRIBER_TOO_SLOW and where to resume once maxPendingRows wait', async () => {
    const id = await submit('stuck');
    const stuck = await r.relay.watch(id, { fromRow: null, withRows: true });
    const others = await Promise.all(range(20).map(() => r.relay.watch(id, { fromRow: null, withRows: true })));
    let stuckPeak = 0;
    const sample = () => (stuckPeak = Math.max(stuckPeak, stuck.pendingRows));
    const reading = Promise.all(others.map((watcher) => readAll(watcher, undefined, sample)));
    await startWorker();
    const received = await reading;
    for (const one of received) expectEverything(one);
    // It was sent rows while the others read, up to the limit, then cut: nothing waits for it now but the error.
    expect(stuckPeak).toBeGreaterThan(0);
    expect(stuckPeak).toBeLessThanOrEqual(SETTINGS.maxPendingRows);
    expect(stuck.ended).toBe(true);
    expect(stuck.pendingRows).toBe(0);
    expect(stuck.queued).toBe(1);
    const late = await readAll(stuck);
    expect(late.events).toEqual([]);
    expect(late.error?.code).toBe('SUBSCRIBER_TOO_SLOW');
    // It never took a row: it resumes from the first.
    expect(late.error?.message).toMatch(/fromRow: 0 /);
  }, 60_000);

  it('a subscriber far slower than the others is cut where it stands and resumes from there with fromRow, with no gap and no duplicate', async () => {
    const id = await submit('slow');
    const slow = await r.relay.watch(id, { fromRow: null, withRows: true });
    const others = await Promise.all(range(5).map(() => r.relay.watch(id, { fromRow: null, withRows: true })));
    // The slow one takes its next event only once the five others between them have taken ten more: half their pace.
    let othersTaken = 0;
    let othersDone = false;
    let wakeSlow: (() => void) | undefined;
    const wake = () => wakeSlow?.();
    const reading = Promise.all(others.map((watcher) => readAll(watcher, undefined, () => (othersTaken++, wake())))).finally(() => ((othersDone = true), wake()));
    const slowReading = (async () => {
      const got: Received = { events: [], error: undefined, peakPendingRows: 0 };
      for (;;) {
        const step = await slow.next();
        if (step.done) return got;
        if ('error' in step.value) got.error = step.value.error;
        else got.events.push(step.value);
        const until = othersTaken + 10;
        while (!othersDone && othersTaken < until) await new Promise<void>((resolve) => (wakeSlow = resolve));
      }
    })();
    await startWorker();
    for (const one of await reading) expectEverything(one);
    const got = await slowReading;
    expect(got.error?.code).toBe('SUBSCRIBER_TOO_SLOW');
    const held = indicesOf(got.events);
    expect(held.length).toBeGreaterThan(0);
    expect(held).toEqual(range(held.length));
    const resumeFrom = Number(/fromRow: (\d+)/.exec(got.error!.message)![1]);
    expect(resumeFrom).toBe(held.length);
    expect(resumeFrom).toBeLessThan(ROWS);
    const resumed = await readAll(await r.relay.watch(id, { fromRow: resumeFrom, withRows: true }));
    expect([...held, ...indicesOf(resumed.events)]).toEqual(range(ROWS));
    expect(resumed.events.at(-1)!.batch).toMatchObject({ status: 'COMPLETED', processed: ROWS });
  }, 60_000);
});
