import { BatchDocument, BatchResultsDocument, CancelBatchDocument, SubmitBatchDocument, type BatchPriority } from '../../src/client/generated/graphql';
import { SiftClient } from '../../src/client/sift-client';
import { createTestKey, eventually, startTestApi, type TestApi } from '../support/api';
import { testRedis } from '../support/redis';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };
const CHUNK = 20;

/** `chunks` chunks' worth of texts, distinct per batch (no cache hits across batches). */
const textsOf = (tag: string, chunks: number) => Array.from({ length: chunks * CHUNK }, (_, i) => `${tag} row ${i} warm cold hot ${i % 11}`);

/**
 * The chunks a worker ran, in the order it took them (at concurrency 1 the order it ran them), as
 * batch ids, read from its debug log ("chunk N of batch ID: outcome").
 */
function takenOrder(worker: WorkerProcess): { batch: string; chunk: number; outcome: string }[] {
  return [...worker.output().matchAll(/chunk (\d+) of batch ([\w-]+): ([\w-]+)/g)].map((m) => ({ batch: m[2], chunk: Number(m[1]), outcome: m[3] }));
}

/**
 * How Sift shares its workers, with one worker taking one chunk at a time: batches are submitted
 * first, then the worker starts, so the order it takes chunks in is the schedule's alone. The
 * queue's window (SIFT_SCHEDULE_WINDOW, 4 here) holds the first chunks handed out before later
 * batches arrived; the order after it is the rule's.
 */
describe('fair scheduling, one worker at concurrency 1', () => {
  let t: TestApi;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: String(CHUNK), SIFT_SCHEDULE_WINDOW: '4', SIFT_AUTH: 'keys' });
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });
  afterAll(() => t.stop());

  const startWorker = async () => {
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix, SIFT_WORKER_CONCURRENCY: '1', SIFT_SCHEDULE_WINDOW: '4', SIFT_STALL_INTERVAL_MS: '500' });
    return worker;
  };

  async function submit(client: SiftClient, tag: string, chunks: number, priority?: BatchPriority): Promise<string> {
    const { submitBatch } = await client.request(SubmitBatchDocument, { input: { texts: textsOf(tag, chunks), priority } });
    expect(submitBatch.priority).toBe(priority ?? 'NORMAL');
    return submitBatch.id;
  }

  const statusOf = async (id: string) => (await t.client.request(BatchDocument, { id })).batch!;
  const completed = (...ids: string[]) => eventually(async () => (await Promise.all(ids.map(statusOf))).every((b) => b.status === 'COMPLETED'), 60_000, 'the batches to complete');

  it("a small batch's chunks are taken before the big batch's remaining ones", async () => {
    const big = await submit(t.client, 'big', 40);
    const small = await submit(t.client, 'small', 2);
    await startWorker();
    await completed(big, small);
    const order = takenOrder(worker!);
    const lastSmall = order.map((c) => c.batch).lastIndexOf(small);
    // The window's 4 chunks of big, then the two take turns: small is done by the 7th chunk taken.
    expect(lastSmall).toBeLessThanOrEqual(6);
    expect(order.slice(lastSmall + 1).filter((c) => c.batch === big)).toHaveLength(40 - (lastSmall + 1 - 2));
  }, 90_000);

  it('HIGH chunks are taken before NORMAL ones, whenever they arrive', async () => {
    const normal = await submit(t.client, 'normal', 30);
    const high = await submit(t.client, 'high', 5, 'HIGH');
    await startWorker();
    await completed(normal, high);
    const batches = takenOrder(worker!).map((c) => c.batch);
    // Past the window, no NORMAL chunk runs until every HIGH chunk has.
    expect(batches.slice(4, 9)).toEqual(Array(5).fill(high));
    expect(batches.filter((b) => b === normal)).toHaveLength(30);
  }, 90_000);

  it('LOW still completes while HIGH and NORMAL batches keep arriving', async () => {
    const high = await submit(t.client, 'high-0', 100, 'HIGH');
    const normal = await submit(t.client, 'normal-0', 100);
    const low = await submit(t.client, 'low', 3, 'LOW');
    // More HIGH and NORMAL work keeps coming while LOW waits (the first before the worker starts).
    const arrived: string[] = [];
    let lowDone = false;
    const more = (i: number) => submit(t.client, `more-${i}`, 5, i % 2 === 0 ? 'HIGH' : 'NORMAL');
    arrived.push(await more(0));
    const arriving = (async () => {
      for (let i = 1; !lowDone && i < 200; i++) {
        arrived.push(await more(i));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await startWorker();
    await eventually(async () => (await statusOf(low)).status === 'COMPLETED', 60_000, 'the LOW batch to complete');
    lowDone = true;
    await arriving;
    await completed(high, normal, ...arrived);
    // In the order the worker took chunks: LOW's last went before the last of the HIGH and NORMAL
    // batches that were there all along (LOW gets every tenth turn; they had 200 chunks to go).
    const batches = takenOrder(worker!).map((c) => c.batch);
    expect(batches.filter((b) => b === low)).toHaveLength(3);
    expect(batches.lastIndexOf(low)).toBeLessThan(40);
    expect(batches.lastIndexOf(low)).toBeLessThan(batches.lastIndexOf(high));
    expect(batches.lastIndexOf(low)).toBeLessThan(batches.lastIndexOf(normal));
  }, 120_000);

  it('two keys with one big batch each get alternate chunks', async () => {
    const other = new SiftClient(t.api.url, { apiKey: await createTestKey(t.prefix, 'other team', ['predict', 'batches']) });
    try {
      const mine = await submit(t.client, 'mine', 20);
      const theirs = await submit(other, 'theirs', 20);
      await startWorker();
      await completed(mine);
      await eventually(async () => (await other.request(BatchDocument, { id: theirs })).batch?.status === 'COMPLETED', 60_000, 'their batch to complete');
      const batches = takenOrder(worker!).map((c) => c.batch);
      expect(batches.slice(0, 4)).toEqual(Array(4).fill(mine)); // the window, handed out before theirs arrived
      const alternating = batches.slice(4, 4 + 32);
      alternating.forEach((batch, i) => expect([i, batch]).toEqual([i, i % 2 === 0 ? theirs : mine]));
    } finally {
      await other.close();
    }
  }, 90_000);

  it('cancel takes the waiting chunks out of the schedule at once', async () => {
    const cancelled = await submit(t.client, 'cancelled', 40);
    const redis = testRedis();
    try {
      expect(await redis.exists(`${t.prefix}schedule:batch:${cancelled}`)).toBe(1);
      await t.client.request(CancelBatchDocument, { id: cancelled });
      expect(await redis.exists(`${t.prefix}schedule:batch:${cancelled}`)).toBe(0);
    } finally {
      redis.disconnect();
    }
    const after = await submit(t.client, 'after', 2);
    await startWorker();
    await completed(after);
    // Only the window's chunks (handed out before the cancel) reach the worker, which skips them.
    const ofCancelled = takenOrder(worker!).filter((c) => c.batch === cancelled);
    expect(ofCancelled.length).toBeLessThanOrEqual(4);
    expect(ofCancelled.every((c) => c.outcome === 'skipped')).toBe(true);
    expect(await statusOf(cancelled)).toMatchObject({ status: 'CANCELLED', processed: 0 });
  }, 90_000);

  it('a worker killed mid-way: HIGH and NORMAL batches still count every row exactly once', async () => {
    const normal = await submit(t.client, 'kill-normal', 60);
    const high = await submit(t.client, 'kill-high', 30, 'HIGH');
    const victim = await startWorker();
    // Frozen once some chunks are done, so the kill lands mid-way however fast the machine.
    await victim.runUntil(async () => (await statusOf(high)).processed >= 10 * CHUNK, 'the first worker to finish some chunks');
    expect(await victim.stop('SIGKILL')).toBeNull();
    expect((await statusOf(normal)).status).not.toBe('COMPLETED');
    await startWorker();
    await completed(normal, high);
    for (const [id, chunks] of [[normal, 60], [high, 30]] as const) {
      const rows = chunks * CHUNK;
      expect(await statusOf(id)).toMatchObject({ total: rows, processed: rows, succeeded: rows, failed: 0 });
      const seen: number[] = [];
      for (let offset = 0; offset < rows; offset += 1000) {
        seen.push(...(await t.client.request(BatchResultsDocument, { id, offset, limit: 1000 })).batch!.results.map((r) => r.index));
      }
      expect(seen).toEqual(Array.from({ length: rows }, (_, i) => i));
    }
  }, 120_000);
});
