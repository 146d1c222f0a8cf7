import {
  BatchDocument,
  BatchesDocument,
  BatchResultsDocument,
  CancelBatchDocument,
  PredictDocument,
  SubmitBatchDocument,
} from '../../src/client/generated/graphql';
import { PredictionCache, textHash } from '../../src/cache/prediction-cache';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/logger';
import { redisKeys } from '../../src/redis/keys';
import { SiftRequestError, type SiftClient } from '../../src/client/sift-client';
import { eventually, startTestApi, type TestApi } from '../support/api';
import { finished } from '../support/batches';
import { testRedis } from '../support/redis';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const models = tinyModelsDir();
const shared = { SIFT_MODELS_DIR: models, SIFT_DEFAULT_MODEL: 'tiny-transformer' };

async function allResults(client: SiftClient, id: string) {
  const rows = [];
  for (let offset = 0; ; offset += 250) {
    const page = (await client.request(BatchResultsDocument, { id, offset, limit: 250 })).batch!.results;
    rows.push(...page);
    if (page.length < 250) return rows;
  }
}

async function refused(run: Promise<unknown>): Promise<SiftRequestError> {
  const error = await run.then(() => new Error('expected a refusal'), (e: unknown) => e);
  expect(error).toBeInstanceOf(SiftRequestError);
  return error as SiftRequestError;
}

describe('batches through real worker processes', () => {
  let t: TestApi;
  let workers: WorkerProcess[];
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '40', SIFT_MAX_INLINE_ROWS: '1500' });
    const env = { ...shared, SIFT_KEY_PREFIX: t.prefix, SIFT_WORKER_CONCURRENCY: '1' };
    // One runs the models on its own thread (the default), the other on an inference thread.
    workers = await Promise.all([startWorkerProcess(env), startWorkerProcess({ ...env, SIFT_WORKER_INFERENCE_THREADS: '1' })]);
    expect(workers[0].output()).toContain("run on the worker's own thread");
    expect(workers[1].output()).toContain('run on 1 inference thread(s)');
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await t.stop();
  });

  it('labels every row exactly once, in input order, spread over both workers, with row failures recorded', async () => {
    const texts = Array.from({ length: 1000 }, (_, i) =>
      i % 100 === 7 ? '   ' : i % 100 === 8 ? 'good '.repeat(120) : i % 3 === 0 ? 'a good movie' : `an awful film number ${i}`,
    );
    const submitted = (await t.client.request(SubmitBatchDocument, { input: { texts } })).submitBatch;
    expect(submitted).toMatchObject({ total: 1000, model: 'tiny-transformer', resultsUrl: `/batches/${submitted.id}/results.csv` });
    expect(['QUEUED', 'RUNNING', 'COMPLETED']).toContain(submitted.status);

    const batch = await finished(t.client, submitted.id);
    expect(batch).toMatchObject({ status: 'COMPLETED', total: 1000, processed: 1000, failed: 20, succeeded: 980, error: null });
    expect(batch.cached).toBeGreaterThan(0);
    expect(batch.finishedAt).not.toBeNull();

    const rows = await allResults(t.client, submitted.id);
    expect(rows.map((r) => r.index)).toEqual(texts.map((_, i) => i));
    rows.forEach((row, i) => {
      expect(row.text).toBe(texts[i]);
      if (i % 100 === 7) expect(row.error).toMatch(/empty/);
      else if (i % 100 === 8) expect(row.error).toMatch(/more than 500 characters/);
      else expect(row.prediction?.label).toBe(i % 3 === 0 ? 'POSITIVE' : 'NEGATIVE');
    });
    // Rows per label, counted by the server as rows landed, agree with the rows themselves.
    const perLabel = (label: string) => rows.filter((row) => row.prediction?.label === label).length;
    expect(batch.labelCounts).toEqual([
      { label: 'NEGATIVE', count: perLabel('NEGATIVE') },
      { label: 'POSITIVE', count: perLabel('POSITIVE') },
    ]);
    expect(perLabel('NEGATIVE') + perLabel('POSITIVE')).toBe(980);
    // Pages that start and end inside chunks (results are stored a chunk at a time), and past the end.
    const page = async (offset: number, limit: number) => (await t.client.request(BatchResultsDocument, { id: submitted.id, offset, limit })).batch!.results.map((r) => r.index);
    expect(await page(37, 6)).toEqual([37, 38, 39, 40, 41, 42]);
    expect(await page(79, 82)).toEqual(Array.from({ length: 82 }, (_, i) => 79 + i));
    expect(await page(995, 50)).toEqual([995, 996, 997, 998, 999]);
    expect(await page(1000, 10)).toEqual([]);
    // 25 chunks of 40 rows: each worker took some of them.
    for (const worker of workers) expect(worker.output()).toMatch(new RegExp(`chunk \\d+ of batch ${submitted.id}: done`));
  }, 90_000);

  it("serves a cache entry another writer spelled its own way as spelled, and every download reads it", async () => {
    const text = `spelled by another writer ${Date.now()}`;
    const tie = `a tie spelled apart ${Date.now()}`;
    const { modelVersion } = (await t.client.request(PredictDocument, { text: 'a version probe' })).predict;
    const redis = testRedis();
    try {
      // Where the server's cache looks: its TTL (the default) decides the windows.
      const cache = new PredictionCache(redis, redisKeys(t.prefix), loadConfig({}).cacheTtlSeconds, createLogger('silent'));
      // Equal scores in two spellings: every reader must pick the first label, as for any tie.
      await cache.writeValues({ name: 'tiny-transformer', version: modelVersion }, [textHash(text), textHash(tie)], ['[0.90,1e-1]', '[0.5,0.50000000000000000000001]']);
    } finally {
      redis.disconnect();
    }
    const submitted = (await t.client.request(SubmitBatchDocument, { input: { texts: [text, 'a good movie', tie] } })).submitBatch;
    await finished(t.client, submitted.id);
    const [row, , tieRow] = await allResults(t.client, submitted.id);
    expect(row.prediction).toMatchObject({ label: 'NEGATIVE', score: 0.9, cached: true });
    expect(row.prediction!.scores.map((s) => s.score)).toEqual([0.9, 0.1]);
    expect(tieRow.prediction).toMatchObject({ label: 'NEGATIVE', score: 0.5, cached: true });
    const csv = (await (await fetch(`${t.api.url}/batches/${submitted.id}/results.csv?echo=false`)).text()).split('\r\n');
    expect(csv[1]).toBe('0,NEGATIVE,0.90,0.90,1e-1,true,');
    expect(csv[3]).toBe('2,NEGATIVE,0.5,0.5,0.5,true,');
    const jsonl = (await (await fetch(`${t.api.url}/batches/${submitted.id}/results.jsonl`)).text()).trimEnd().split('\n');
    expect(JSON.parse(jsonl[0])).toMatchObject({ text, label: 'NEGATIVE', score: 0.9, score_NEGATIVE: 0.9, score_POSITIVE: 0.1, cached: true });
  });

  it('takes inline CSV with an id column', async () => {
    const csv = '\uFEFFref,text\r\nr1,a great movie\r\nr2,"bad, bad, bad"\r\n';
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { csv, idColumn: 'ref' } });
    await finished(t.client, submitBatch.id);
    const rows = await allResults(t.client, submitBatch.id);
    expect(rows.map((r) => [r.id, r.text, r.prediction?.label])).toEqual([
      ['r1', 'a great movie', 'POSITIVE'],
      ['r2', 'bad, bad, bad', 'NEGATIVE'],
    ]);
  }, 60_000);

  it('refuses bad input with BAD_USER_INPUT and creates no batch', async () => {
    const before = (await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length;
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ texts: ['a'], csv: 'text\na\n' }, 'BAD_BATCH_OPTIONS', /exactly one of texts and csv/],
      [{}, 'BAD_BATCH_OPTIONS', /exactly one of texts and csv/],
      [{ texts: [] }, 'EMPTY_INPUT', /no rows/],
      [{ csv: 'text\n' }, 'EMPTY_INPUT', /no rows/],
      [{ csv: 'id,body\n1,hello\n' }, 'MISSING_COLUMN', /no column "text" .*"id", "body"/],
      [{ csv: 'text,id\nfine,1\n"unclosed,2\n' }, 'MALFORMED_CSV', /line 3/],
      [{ texts: ['a'], model: 'nope' }, 'UNKNOWN_MODEL', /Unknown model "nope"/],
      [{ texts: Array.from({ length: 1501 }, () => 'x') }, 'TOO_MANY_ROWS', /more than 1500 rows/],
    ];
    for (const [input, reason, message] of cases) {
      const error = await refused(t.client.request(SubmitBatchDocument, { input: input as { texts: string[] } }));
      expect([error.code, error.reason]).toEqual(['BAD_USER_INPUT', reason]);
      expect(error.message).toMatch(message);
    }
    expect((await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length).toBe(before);
  });

  it('returns the first batch for a repeated idempotency key, also when two submits race', async () => {
    const input = { texts: Array.from({ length: 300 }, (_, i) => `race ${i}`), idempotencyKey: `key-${Date.now()}` };
    const [a, b] = await Promise.all([t.client.request(SubmitBatchDocument, { input }), t.client.request(SubmitBatchDocument, { input })]);
    expect(a.submitBatch.id).toBe(b.submitBatch.id);
    const again = await t.client.request(SubmitBatchDocument, { input });
    expect(again.submitBatch.id).toBe(a.submitBatch.id);
    const listed = (await t.client.request(BatchesDocument, { first: 100 })).batches.edges.filter((e) => e.node.id === a.submitBatch.id);
    expect(listed).toHaveLength(1);
  });

  it('lists batches most recent first, with cursor paging and a status filter', async () => {
    const first = (await t.client.request(BatchesDocument, { first: 2 })).batches;
    expect(first.edges).toHaveLength(2);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const created = first.edges.map((e) => Date.parse(e.node.createdAt));
    expect(created[0]).toBeGreaterThanOrEqual(created[1]);
    const next = (await t.client.request(BatchesDocument, { first: 2, after: first.pageInfo.endCursor })).batches;
    expect(next.edges.map((e) => e.node.id)).not.toContain(first.edges[0].node.id);
    expect(Date.parse(next.edges[0].node.createdAt)).toBeLessThanOrEqual(created[1]);
    const completed = (await t.client.request(BatchesDocument, { first: 100, status: 'COMPLETED' })).batches.edges;
    expect(completed.length).toBeGreaterThan(0);
    expect(completed.every((e) => e.node.status === 'COMPLETED')).toBe(true);
  });
});

describe('cancelling a batch', () => {
  it('keeps its queued chunks from running and leaves it CANCELLED', async () => {
    // No worker runs until the batch is cancelled, so every chunk is still queued: a few in the
    // queue's window (SIFT_SCHEDULE_WINDOW), the rest in the schedule, which the cancel empties.
    const t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '10', SIFT_SCHEDULE_WINDOW: '4' });
    let worker: WorkerProcess | undefined;
    try {
      const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: Array.from({ length: 200 }, (_, i) => `queued ${i}`) } });
      const { cancelBatch } = await t.client.request(CancelBatchDocument, { id: submitBatch.id });
      expect(cancelBatch).toMatchObject({ status: 'CANCELLED', processed: 0 });
      worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
      await eventually(async () => (worker!.output().match(/: skipped/g) ?? []).length === 4, 30_000, 'the worker to skip the 4 chunks in the queue');
      // A later batch runs; none of the cancelled one's other 16 chunks ever reaches the worker.
      const after = (await t.client.request(SubmitBatchDocument, { input: { texts: ['after the cancel'] } })).submitBatch.id;
      await eventually(async () => (await t.client.request(BatchDocument, { id: after })).batch?.status === 'COMPLETED', 30_000, 'the later batch to complete');
      expect(worker.output().match(new RegExp(`of batch ${submitBatch.id}:`, 'g'))).toHaveLength(4);
      expect((await t.client.request(BatchDocument, { id: submitBatch.id })).batch).toMatchObject({ status: 'CANCELLED', processed: 0 });
      const error = await refused(t.client.request(CancelBatchDocument, { id: 'no-such-batch' }));
      expect(error.reason).toBe('UNKNOWN_BATCH');
    } finally {
      await worker?.stop();
      await t.stop();
    }
  }, 60_000);
});
