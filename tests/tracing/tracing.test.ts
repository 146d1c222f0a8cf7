/**
 * OpenTelemetry tracing as an operator sees it: real API and worker processes, the real Redis,
 * exporting over OTLP/HTTP to a small receiver in this process (tests/support/otlp-receiver.ts).
 * Each process is stopped (SIGTERM) before its spans are read: a stopping process sends what it
 * has left, so the spans are all there without waiting on the exporter's timer.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PredictDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { SiftClient } from '../../src/client/sift-client';
import { freePort, startTestApi } from '../support/api';
import { finished } from '../support/batches';
import { ancestry, SPAN_KIND, startOtlpReceiver, STATUS_CODE, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver';
import { PROJECT_ROOT } from '../support/paths';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';
import { startSiftUp, type SiftUp } from '../support/sift-up';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const MODEL = 'tiny-transformer';
const models = tinyModelsDir();
const unique = () => randomBytes(4).toString('hex');
const PROBE = path.join(PROJECT_ROOT, 'dist/tests/support/module-probe.js');
const probeDir = mkdtempSync(path.join(tmpdir(), 'sift-module-probe-'));

/** Env that makes a process write the modules it loaded to `name` in probeDir when it exits. */
function probed(name: string): Record<string, string> {
  return { NODE_OPTIONS: `--require ${PROBE}`, SIFT_TEST_MODULE_PROBE: path.join(probeDir, name) };
}

/** The OpenTelemetry SDK's files a process loaded (the API package, which prom-client also loads, is not the SDK). */
function sdkModulesLoaded(name: string): string[] {
  const loaded = readFileSync(path.join(probeDir, name), 'utf8').split('\n');
  expect(loaded.some((file) => file.includes(`${path.sep}src${path.sep}app${path.sep}shared-parts.js`))).toBe(true);
  return loaded.filter((file) => /@opentelemetry[\\/](?!api[\\/])/.test(file));
}

/** `sift up` with the API alone, on a free port; resolves once it is ready. */
async function startApiProcess(env: Record<string, string>): Promise<{ process: SiftUp; url: string }> {
  const port = await freePort();
  const sift = startSiftUp({ SIFT_MODELS_DIR: models, SIFT_DEFAULT_MODEL: MODEL, SIFT_INFERENCE_THREADS: '1', SIFT_LOG_FORMAT: 'json', ...env, PORT: String(port), SIFT_WORKERS: '0' });
  await sift.waitFor(/Sift is ready/, 30_000);
  return { process: sift, url: `http://127.0.0.1:${port}` };
}

function startTracedWorker(env: Record<string, string>): Promise<WorkerProcess> {
  return startWorkerProcess({ SIFT_MODELS_DIR: models, SIFT_DEFAULT_MODEL: MODEL, ...env });
}

async function upload(url: string, csv: string): Promise<string> {
  const response = await fetch(`${url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

async function cleanUp(prefix: string): Promise<void> {
  const redis = testRedis();
  await deleteKeys(redis, prefix).catch(() => undefined);
  redis.disconnect();
}

afterAll(() => rmSync(probeDir, { recursive: true, force: true }));

describe('with OTEL_EXPORTER_OTLP_ENDPOINT set (OTLP/JSON)', () => {
  const prefix = uniquePrefix('tracing');
  const predictText = `a tender, funny film ${unique()}`;
  const callerTrace = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
  let receiver: OtlpReceiver;
  let uploaded: string;
  let submitted: string;
  let spans: ReceivedSpan[];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    const shared = { ...otel, SIFT_KEY_PREFIX: prefix, SIFT_CHUNK_SIZE: '5' };
    const api = await startApiProcess({ ...shared, ...probed('api-on') });
    const worker = await startTracedWorker({ ...shared, ...probed('worker-on') });
    const client = new SiftClient(api.url);
    try {
      expect((await client.request(PredictDocument, { text: predictText })).predict.cached).toBe(false);
      // An anonymous operation that fails: an empty text.
      await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ predict(text: "  ") { label } }' }) });
      // A caller's own trace: its traceparent header makes Sift's span a child of the caller's.
      await fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${callerTrace.traceId}-${callerTrace.spanId}-01` },
        body: JSON.stringify({ query: 'query CallerModels { models { name } }' }),
      });
      // 12 rows in chunks of 5 (3 chunks) by upload; 7 texts (2 chunks) by the submitBatch mutation.
      uploaded = await upload(api.url, `text\n${Array.from({ length: 12 }, (_, i) => `an uploaded review ${i} ${unique()}`).join('\n')}\n`);
      submitted = (await client.request(SubmitBatchDocument, { input: { texts: Array.from({ length: 7 }, (_, i) => `a submitted review ${i} ${unique()}`) } })).submitBatch.id;
      expect(await finished(client, uploaded)).toMatchObject({ status: 'COMPLETED', total: 12 });
      expect(await finished(client, submitted)).toMatchObject({ status: 'COMPLETED', total: 7 });
    } finally {
      await client.close();
      // Stopping sends each process's last spans before it exits.
      expect(await worker.stop()).toBe(0);
      expect((await api.process.stop()).code).toBe(0);
      await receiver.close();
      await cleanUp(prefix);
    }
    spans = receiver.spans;
  }, 120_000);

  const named = (name: string, service?: string) => spans.filter((span) => span.name === name && (service === undefined || span.service === service));
  const batchSpan = (id: string) => {
    const found = named('batch submit', 'sift-api').filter((span) => span.attributes['sift.batch.id'] === id);
    expect(found).toHaveLength(1);
    return found[0];
  };

  it('sends OTLP/JSON to /v1/traces, from a service per role', () => {
    expect(receiver.requests.length).toBeGreaterThan(0);
    expect(receiver.requests.every((request) => request.path === '/v1/traces' && request.contentType.startsWith('application/json'))).toBe(true);
    expect(new Set(spans.map((span) => span.service))).toEqual(new Set(['sift-api', 'sift-worker']));
    expect(spans.find((span) => span.service === 'sift-worker')!.resource).toMatchObject({ 'sift.role': 'worker', 'process.pid': expect.any(Number) });
  });

  it('makes a predict a `graphql Predict` span with its model run as a child, in one trace', () => {
    const [operation] = named('graphql Predict', 'sift-api');
    expect(operation).toMatchObject({
      kind: SPAN_KIND.SERVER,
      parentSpanId: '',
      attributes: { 'graphql.operation.name': 'Predict', 'graphql.operation.type': 'query', 'http.response.status_code': 200 },
      status: { code: STATUS_CODE.UNSET },
    });
    const runs = spans.filter((span) => span.traceId === operation.traceId && span.name === 'model run');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ parentSpanId: operation.spanId, attributes: { 'sift.model.name': MODEL, 'sift.model.rows': 1 } });
  });

  it('fails the span of an operation that answers errors, with their codes only', () => {
    const failed = named('graphql anonymous', 'sift-api').filter((span) => span.status.code === STATUS_CODE.ERROR);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ attributes: { 'graphql.operation.type': 'query', 'sift.error.codes': ['BAD_USER_INPUT'] }, status: { message: 'BAD_USER_INPUT' } });
    expect(failed[0].attributes).not.toHaveProperty('graphql.operation.name');
  });

  it("continues a caller's trace from its traceparent header", () => {
    const [operation] = named('graphql CallerModels', 'sift-api');
    expect(operation).toMatchObject({ traceId: callerTrace.traceId, parentSpanId: callerTrace.spanId });
  });

  it('carries an uploaded batch\'s trace to the worker: one `batch chunk` span per chunk, children of the `batch submit` span', () => {
    const submit = batchSpan(uploaded);
    expect(submit).toMatchObject({ kind: SPAN_KIND.PRODUCER, parentSpanId: '', attributes: { 'sift.batch.rows': 12, 'sift.model.name': MODEL } });
    const chunks = named('batch chunk').filter((span) => span.attributes['sift.batch.id'] === uploaded);
    expect(chunks.map((span) => span.attributes['sift.chunk.index']).sort()).toEqual([0, 1, 2]);
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ service: 'sift-worker', kind: SPAN_KIND.CONSUMER, traceId: submit.traceId, parentSpanId: submit.spanId, attributes: { 'sift.chunk.outcome': 'done', 'sift.model.name': MODEL } });
    }
    expect(chunks.map((span) => span.attributes['sift.chunk.rows'] as number).sort()).toEqual([2, 5, 5]);
    // The worker's model runs are children of its chunk spans: the whole batch is one trace.
    const runs = spans.filter((span) => span.traceId === submit.traceId && span.name === 'model run');
    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const run of runs) expect([run.service, ancestry(spans, run)]).toEqual(['sift-worker', ['batch chunk', 'batch submit']]);
    expect(runs.reduce((sum, run) => sum + (run.attributes['sift.model.rows'] as number), 0)).toBe(12);
  });

  it('makes the submitBatch mutation `graphql SubmitBatch` → `batch submit` → a `batch chunk` per chunk on the worker', () => {
    const submit = batchSpan(submitted);
    const [operation] = named('graphql SubmitBatch', 'sift-api');
    expect(operation).toMatchObject({ traceId: submit.traceId, attributes: { 'graphql.operation.type': 'mutation' } });
    expect(submit.parentSpanId).toBe(operation.spanId);
    const chunks = named('batch chunk', 'sift-worker').filter((span) => span.attributes['sift.batch.id'] === submitted);
    expect(chunks.map((span) => span.attributes['sift.chunk.index']).sort()).toEqual([0, 1]);
    for (const chunk of chunks) expect(ancestry(spans, chunk)).toEqual(['batch submit', 'graphql SubmitBatch']);
  });

  it('puts no text on any span', () => {
    const values = JSON.stringify(spans.map((span) => span.attributes)) + JSON.stringify(spans.map((span) => span.status));
    for (const word of [predictText, 'uploaded review', 'submitted review']) expect(values).not.toContain(word);
  });

  it('loads the SDK and the OTLP/JSON exporter, not the protobuf one', () => {
    for (const name of ['api-on', 'worker-on']) {
      const loaded = sdkModulesLoaded(name);
      expect(loaded.some((file) => file.includes('@opentelemetry/sdk-trace/'))).toBe(true);
      expect(loaded.some((file) => file.includes('@opentelemetry/exporter-trace-otlp-http/'))).toBe(true);
      expect(loaded.some((file) => file.includes('@opentelemetry/exporter-trace-otlp-proto/'))).toBe(false);
    }
  });
});

describe('a traced worker taking chunks queued without trace context (an API without tracing, or an older Sift)', () => {
  it('runs them, each chunk the root of a trace of its own', async () => {
    const receiver = await startOtlpReceiver();
    const t = await startTestApi({ SIFT_MODELS_DIR: models, SIFT_DEFAULT_MODEL: MODEL, SIFT_CHUNK_SIZE: '4' });
    let worker: WorkerProcess | undefined;
    try {
      worker = await startTracedWorker({ SIFT_KEY_PREFIX: t.prefix, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'batch-worker' });
      const { id } = (await t.client.request(SubmitBatchDocument, { input: { texts: Array.from({ length: 8 }, (_, i) => `an untraced text ${i} ${unique()}`) } })).submitBatch;
      expect(await finished(t.client, id)).toMatchObject({ status: 'COMPLETED', succeeded: 8 });
      expect(await worker.stop()).toBe(0);
      const chunks = receiver.spans.filter((span) => span.name === 'batch chunk' && span.attributes['sift.batch.id'] === id);
      expect(chunks.map((span) => span.attributes['sift.chunk.index']).sort()).toEqual([0, 1]);
      for (const chunk of chunks) expect(chunk).toMatchObject({ service: 'batch-worker', parentSpanId: '', attributes: { 'sift.chunk.outcome': 'done' } });
      expect(chunks[0].traceId).not.toBe(chunks[1].traceId);
    } finally {
      await worker?.stop();
      await t.stop();
      await receiver.close();
    }
  }, 60_000);
});

describe('with no OTLP endpoint, or OTEL_SDK_DISABLED=true', () => {
  it('loads no part of the SDK and sends nothing, while predictions and batches work as ever', async () => {
    const receiver = await startOtlpReceiver();
    const prefix = uniquePrefix('untraced');
    // The API has no endpoint; the worker has one but the SDK disabled. Neither may send anything there.
    const api = await startApiProcess({ SIFT_KEY_PREFIX: prefix, SIFT_CHUNK_SIZE: '5', OTEL_SERVICE_NAME: 'ignored', ...probed('api-off') });
    const worker = await startTracedWorker({ SIFT_KEY_PREFIX: prefix, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SDK_DISABLED: 'true', ...probed('worker-off') });
    const client = new SiftClient(api.url);
    try {
      expect((await client.request(PredictDocument, { text: `an untraced film ${unique()}` })).predict.cached).toBe(false);
      const id = await upload(api.url, `text\n${Array.from({ length: 8 }, (_, i) => `untraced row ${i} ${unique()}`).join('\n')}\n`);
      expect(await finished(client, id)).toMatchObject({ status: 'COMPLETED', succeeded: 8 });
    } finally {
      await client.close();
      expect(await worker.stop()).toBe(0);
      expect((await api.process.stop()).code).toBe(0);
      await cleanUp(prefix);
    }
    expect(sdkModulesLoaded('api-off')).toEqual([]);
    expect(sdkModulesLoaded('worker-off')).toEqual([]);
    expect(api.process.output()).not.toContain('tracing:');
    expect(receiver.requests).toEqual([]);
    await receiver.close();
  }, 90_000);
});

describe('with the default protocol', () => {
  it('sends OTLP protobuf to <endpoint>/v1/traces', async () => {
    const receiver = await startOtlpReceiver();
    const prefix = uniquePrefix('protobuf');
    const api = await startApiProcess({ SIFT_KEY_PREFIX: prefix, OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.endpoint}/`, ...probed('api-protobuf') });
    const client = new SiftClient(api.url);
    try {
      await client.request(PredictDocument, { text: `a protobuf film ${unique()}` });
    } finally {
      await client.close();
      expect((await api.process.stop()).code).toBe(0);
      await cleanUp(prefix);
      await receiver.close();
    }
    expect(receiver.requests.length).toBeGreaterThan(0);
    expect(receiver.requests.every((request) => request.path === '/v1/traces' && request.contentType === 'application/x-protobuf')).toBe(true);
    expect(sdkModulesLoaded('api-protobuf').some((file) => file.includes('@opentelemetry/exporter-trace-otlp-proto/'))).toBe(true);
  }, 60_000);
});

describe('with a collector that does not answer', () => {
  it('answers requests as ever, says the spans are lost, and still stops', async () => {
    const prefix = uniquePrefix('collector-down');
    const api = await startApiProcess({ SIFT_KEY_PREFIX: prefix, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    const client = new SiftClient(api.url);
    let stopped: { code: number | null; output: string };
    try {
      expect((await client.request(PredictDocument, { text: `a film nobody traces ${unique()}` })).predict.cached).toBe(false);
    } finally {
      await client.close();
      stopped = await api.process.stop();
      await cleanUp(prefix);
    }
    const { code, output } = stopped;
    expect(code).toBe(0);
    expect(output).toMatch(/tracing: (spans could not be sent to|the last spans could not be sent|the last spans did not reach) http:\/\/127\.0\.0\.1:\d+\/v1\/traces/);
  }, 60_000);
});
