/**
 * The metrics as Prometheus reads them: a real API (in this process) and a real worker process,
 * against the real Redis, each scraped over HTTP and parsed as the Prometheus text format; the
 * counters are compared before and after a `predict`, a batch, errors and sockets.
 */
import { randomBytes } from 'node:crypto';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { BatchProgressCountsDocument, CancelBatchDocument, PredictDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { KNOWN_OPERATIONS } from '../../src/http/graphql-metrics-plugin';
import { HTTP_ROUTE_LABELS } from '../../src/http/http-metrics-middleware';
import { METRIC_FAMILIES } from '../../src/metrics/families';
import { eventually, freePort, startTestApi, type TestApi } from '../support/api';
import { finished } from '../support/batches';
import { labelValues, sampleSum, scrape, type Exposition } from '../support/prometheus';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const MODEL = 'tiny-transformer';
const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: MODEL, SIFT_CHUNK_SIZE: '25', SIFT_METRICS_QUEUE_INTERVAL_MS: '100' };
const unique = () => randomBytes(4).toString('hex');

/** How much each series moved between two scrapes. */
function moved(before: Exposition, after: Exposition) {
  return (name: string, labels: Record<string, string> = {}) => sampleSum(after, name, labels) - sampleSum(before, name, labels);
}

async function post(url: string, body: unknown): Promise<number> {
  return (await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
}

describe('GET /metrics on the API and on a worker process', () => {
  let t: TestApi;
  let worker: WorkerProcess;
  let workerUrl: string;
  const api = () => scrape(`${t.api.url}/metrics`);
  const ofWorker = () => scrape(`${workerUrl}/metrics`);

  beforeAll(async () => {
    t = await startTestApi(shared);
    const port = await freePort();
    workerUrl = `http://127.0.0.1:${port}`;
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix, SIFT_METRICS_PORT: String(port) });
    expect(worker.output()).toContain(`/metrics and /healthz at ${workerUrl}`);
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.stop();
  });

  it("exports every family of src/metrics/families.ts, with prom-client's defaults, on both", async () => {
    for (const exposition of [await api(), await ofWorker()]) {
      expect(METRIC_FAMILIES.filter((name) => !exposition.has(name))).toEqual([]);
      for (const name of ['process_cpu_seconds_total', 'nodejs_gc_duration_seconds', 'nodejs_heap_size_used_bytes']) expect([name, exposition.has(name)]).toEqual([name, true]);
      expect(sampleSum(exposition, 'process_resident_memory_bytes')).toBeGreaterThan(10e6);
    }
  });

  it('counts a new predict as one miss and one model run of one text, and the same predict again as one cache hit', async () => {
    const text = `a good movie ${unique()}`;
    const before = await api();
    expect((await t.client.request(PredictDocument, { text })).predict.cached).toBe(false);
    expect((await t.client.request(PredictDocument, { text })).predict.cached).toBe(true);
    const delta = moved(before, await api());
    expect(delta('sift_cache_lookups_total', { model: MODEL, result: 'miss' })).toBe(1);
    expect(delta('sift_cache_lookups_total', { model: MODEL, result: 'hit' })).toBe(1);
    expect(delta('sift_cache_lookups_total', { result: 'error' })).toBe(0);
    expect(delta('sift_model_runs_total', { model: MODEL })).toBe(1);
    expect(delta('sift_model_run_rows_sum')).toBe(1);
    expect(delta('sift_model_run_rows_count')).toBe(1);
    expect(delta('sift_model_run_duration_seconds_count', { model: MODEL })).toBe(1);
    expect(delta('sift_model_run_duration_seconds_sum', { model: MODEL })).toBeGreaterThan(0);
    expect(delta('sift_graphql_operations_total', { operation: 'Predict', outcome: 'ok' })).toBe(2);
    expect(delta('sift_graphql_operations_total', { outcome: 'error' })).toBe(0);
    expect(delta('sift_graphql_operation_duration_seconds_count', { operation: 'Predict' })).toBe(2);
    expect(delta('sift_http_requests_total', { route: '/graphql', status: '200' })).toBe(2);
  });

  it('keeps labels bounded: unknown paths, operation names and batch ids add no label value', async () => {
    const name = `Evil${unique()}`;
    const before = await api();
    expect(await post(t.api.url, { query: `query ${name} { nope }` })).toBe(400);
    expect(await post(t.api.url, { query: `query ${name}B { __typename }` })).toBe(200);
    expect((await fetch(`${t.api.url}/no/such/${name}`)).status).toBe(404);
    expect((await fetch(`${t.api.url}/batches/${name}`)).status).toBe(404);
    const after = await api();
    const delta = moved(before, after);
    expect(delta('sift_graphql_operations_total', { operation: 'other', outcome: 'error' })).toBe(1);
    expect(delta('sift_graphql_operations_total', { operation: 'other', outcome: 'ok' })).toBe(1);
    expect(delta('sift_http_requests_total', { route: '/graphql', status: '400' })).toBe(1);
    expect(delta('sift_http_requests_total', { route: 'other', status: '404' })).toBe(1);
    expect(delta('sift_http_requests_total', { route: '/batches/:id', status: '404' })).toBe(1);
    const routes = labelValues(after, 'sift_http_requests_total', 'route');
    expect(routes.filter((route) => !(HTTP_ROUTE_LABELS as readonly string[]).includes(route))).toEqual([]);
    expect(labelValues(after, 'sift_graphql_operations_total', 'operation').filter((op) => op !== 'other' && !KNOWN_OPERATIONS.has(op))).toEqual([]);
    for (const family of after.values()) for (const sample of family.samples) expect(Object.values(sample.labels).join(' ')).not.toContain(name);
  });

  it("counts a batch submitted on the API, completed on the worker, and the worker's rows by outcome equal to the batch's rows", async () => {
    const known = `a great film ${unique()}`;
    await t.client.request(PredictDocument, { text: known });
    const texts = Array.from({ length: 110 }, (_, i) => (i % 20 === 3 ? '   ' : i % 10 === 5 ? known : `a fine film number ${i} ${unique()}`));
    const [apiBefore, workerBefore] = [await api(), await ofWorker()];
    const { id } = (await t.client.request(SubmitBatchDocument, { input: { texts } })).submitBatch;
    const batch = await finished(t.client, id);
    // 6 blank rows fail, the 11 rows of the text the API labelled come from the cache, the 93 others are new texts each.
    expect(batch).toMatchObject({ status: 'COMPLETED', total: 110, failed: 6, succeeded: 104, cached: 11 });
    const apiDelta = moved(apiBefore, await api());
    // The worker counts as it finishes: its last chunk's rows are in before the batch reads COMPLETED.
    const workerDelta = moved(workerBefore, await ofWorker());
    expect(apiDelta('sift_batches_total', { status: 'submitted' })).toBe(1);
    expect(workerDelta('sift_batches_total', { status: 'completed' })).toBe(1);
    expect(apiDelta('sift_batches_total', { status: 'completed' }) + workerDelta('sift_batches_total', { status: 'submitted' })).toBe(0);
    expect(workerDelta('sift_batch_rows_total', { model: MODEL, outcome: 'succeeded' })).toBe(batch.succeeded - batch.cached);
    expect(workerDelta('sift_batch_rows_total', { model: MODEL, outcome: 'cached' })).toBe(batch.cached);
    expect(workerDelta('sift_batch_rows_total', { model: MODEL, outcome: 'failed' })).toBe(6);
    expect(workerDelta('sift_batch_rows_total')).toBe(110);
    // The worker ran the model on its misses, and found the text the API had labelled in the cache.
    expect(workerDelta('sift_model_runs_total', { model: MODEL })).toBeGreaterThanOrEqual(1);
    expect(workerDelta('sift_model_run_rows_sum')).toBe(93);
    expect(workerDelta('sift_cache_lookups_total', { model: MODEL, result: 'miss' })).toBe(93);
    // One lookup per distinct text of a chunk: the known text is in each of the 5 chunks.
    expect(workerDelta('sift_cache_lookups_total', { model: MODEL, result: 'hit' })).toBe(5);
    // The API labelled none of the batch's rows.
    expect(apiDelta('sift_model_run_rows_sum')).toBe(0);
  });

  it("answers the worker's /healthz with 200 while it takes chunks and Redis answers", async () => {
    const response = await fetch(`${workerUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', checks: { consumer: { ok: true, detail: expect.stringContaining('taking chunks') }, redis: { ok: true, detail: 'ok' } } });
    const other = await fetch(`${workerUrl}/batches`);
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });
});

describe('the queue, WebSocket and subscription gauges, on an API with no worker', () => {
  let t: TestApi;
  const api = () => scrape(`${t.api.url}/metrics`);
  beforeAll(async () => {
    t = await startTestApi(shared);
  });
  afterAll(() => t.stop());

  it('samples the chunk queue by state, and counts a cancel', async () => {
    const texts = Array.from({ length: 60 }, (_, i) => `a queued text ${i}`);
    const before = await api();
    const { id } = (await t.client.request(SubmitBatchDocument, { input: { texts } })).submitBatch;
    // 60 rows in chunks of 25: three chunks wait, and nothing takes them.
    let exposition = before;
    await eventually(async () => sampleSum((exposition = await api()), 'sift_queue_jobs', { state: 'waiting' }) === 3, 10_000, 'sift_queue_jobs{state="waiting"} to be 3');
    expect(labelValues(exposition, 'sift_queue_jobs', 'state')).toEqual(['active', 'delayed', 'failed', 'waiting']);
    expect(sampleSum(exposition, 'sift_queue_jobs', { state: 'active' })).toBe(0);
    // A LOW batch of 10 chunks: one fills the queue's window (4), nine wait in the schedule.
    const low = (await t.client.request(SubmitBatchDocument, { input: { texts: Array.from({ length: 250 }, (_, i) => `a low text ${i}`), priority: 'LOW' } })).submitBatch.id;
    await eventually(async () => sampleSum((exposition = await api()), 'sift_schedule_chunks', { priority: 'LOW' }) === 9, 10_000, 'sift_schedule_chunks{priority="LOW"} to be 9');
    expect(labelValues(exposition, 'sift_schedule_chunks', 'priority')).toEqual(['HIGH', 'LOW', 'NORMAL']);
    expect(sampleSum(exposition, 'sift_schedule_chunks', { priority: 'NORMAL' })).toBe(0);
    expect(sampleSum(exposition, 'sift_queue_jobs', { state: 'waiting' })).toBe(4);
    await t.client.request(CancelBatchDocument, { id: low });
    await t.client.request(CancelBatchDocument, { id });
    await eventually(async () => sampleSum((exposition = await api()), 'sift_schedule_chunks', { priority: 'LOW' }) === 0, 10_000, 'the cancelled batch to leave the schedule');
    const delta = moved(before, await api());
    expect(delta('sift_batches_total', { status: 'submitted' })).toBe(2);
    expect(delta('sift_batches_total', { status: 'cancelled' })).toBe(2);
    expect(delta('sift_batches_total', { status: 'completed' })).toBe(0);
  });

  it('counts open WebSockets and running subscriptions, up and down again', async () => {
    const gauges = async () => {
      const exposition = await api();
      return { sockets: sampleSum(exposition, 'sift_websocket_connections_active'), subscriptions: sampleSum(exposition, 'sift_subscriptions_active') };
    };
    expect(await gauges()).toEqual({ sockets: 0, subscriptions: 0 });
    const { id } = (await t.client.request(SubmitBatchDocument, { input: { texts: ['a text that waits'] } })).submitBatch;
    const client = createClient({ url: `${t.api.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
    try {
      const events: unknown[] = [];
      const subscriptions = [0, 1].map(() => client.subscribe({ query: print(BatchProgressCountsDocument), variables: { id } }, { next: (event) => void events.push(event), error: () => undefined, complete: () => undefined }));
      await eventually(async () => events.length >= 2, 10_000, 'both subscriptions to get their first event');
      expect(await gauges()).toEqual({ sockets: 1, subscriptions: 2 });
      // A query over the same socket is an operation, not a subscription.
      await new Promise<void>((resolve, reject) => client.subscribe({ query: '{ __typename }' }, { next: () => undefined, error: reject, complete: resolve }));
      expect(await gauges()).toEqual({ sockets: 1, subscriptions: 2 });
      subscriptions[0]();
      await eventually(async () => (await gauges()).subscriptions === 1, 10_000, 'one subscription to end');
      expect(await gauges()).toEqual({ sockets: 1, subscriptions: 1 });
    } finally {
      await client.dispose();
    }
    // The socket's close lets go of it and of the subscription it still ran.
    await eventually(async () => (await gauges()).sockets === 0, 10_000, 'the socket to be let go');
    expect(await gauges()).toEqual({ sockets: 0, subscriptions: 0 });
    await t.client.request(CancelBatchDocument, { id });
  });
});
