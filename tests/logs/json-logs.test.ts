import { request } from 'node:http';
import { hostname } from 'node:os';
import { CancelBatchDocument, PredictDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { redisKeys } from '../../src/redis/keys';
import { eventually, startTestApi, type TestApi } from '../support/api';
import { finished } from '../support/batches';
import { parseLogLines, type LogLine } from '../support/log-lines';
import { testRedis } from '../support/redis';
import { tinyModelsDir } from '../support/tiny-models';
import { startTestWorker, type TestWorker } from '../support/worker';

// An API and a worker in this process, both writing JSON lines (SIFT_LOG_FORMAT=json) at info,
// as `sift up` does with its output going anywhere but a terminal.
const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_LOG_FORMAT: 'json' };

const predictBody = (text: string) => JSON.stringify({ query: 'query($text: String!) { predict(text: $text) { label } }', variables: { text } });

/** Every line written so far, by the API and the worker, parsed (throws on any that is not a JSON log line). */
function allLines(t: TestApi, worker?: TestWorker): LogLine[] {
  return [...parseLogLines(t.logs), ...parseLogLines(worker?.logs ?? [])];
}

const eventsOf = (lines: LogLine[], batchId: string) => lines.filter((line) => line.batchId === batchId && line.event !== undefined);

/** Posts a CSV upload with `x-request-id`; resolves with the id the API answered. */
async function upload(t: TestApi, csv: string, requestId: string): Promise<{ id: string; header: string | null }> {
  const response = await fetch(`${t.api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv', 'x-request-id': requestId }, body: csv });
  expect(response.status).toBe(202);
  return { id: ((await response.json()) as { id: string }).id, header: response.headers.get('x-request-id') };
}

describe('JSON logs', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '25' });
  });
  afterAll(() => t.stop());

  it('every line the API writes is one JSON object with level, time, role api, pid and component', async () => {
    const lines = parseLogLines(t.logs);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatchObject({ role: 'api', pid: process.pid, hostname: hostname() });
    expect(lines.map((line) => line.msg)).toContainEqual(expect.stringMatching(/^Sift is ready/));
    // One line per write, each ending its line.
    for (const written of t.logs) expect(written).toMatch(/^\{[^\n]*\}\n$/);
  });

  it('a request keeps its x-request-id, gets one when it sent none or an unsafe one, and predict writes no line at info', async () => {
    const before = t.logs.length;
    const asked = await fetch(`${t.api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'test-123' }, body: predictBody('warm soup') });
    expect(asked.status).toBe(200);
    expect(asked.headers.get('x-request-id')).toBe('test-123');

    const none = await fetch(`${t.api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: predictBody('cold soup') });
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    for (const unsafe of ['has spaces in it', 'x'.repeat(129), 'quote"d', 'semi;colon']) {
      const response = await fetch(`${t.api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': unsafe }, body: predictBody('hot soup') });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    // Any route answers it, a 404 included.
    const missing = await fetch(`${t.api.url}/nothing-here`, { headers: { 'x-request-id': 'lost-1' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBe('lost-1');
    // Nothing per request at info: the hot path writes no line.
    expect(t.logs.slice(before)).toEqual([]);
  });

  it('an upload the client abandons half way is one info line with its request id, no stack trace, no error', async () => {
    const redis = testRedis();
    const chunks = () => redis.keys(`${t.prefix}batch:*:chunk:*`);
    const before = t.logs.length;
    const url = new URL(t.api.url);
    const upload = request({
      host: url.hostname,
      port: url.port,
      method: 'POST',
      path: '/batches',
      headers: { 'content-type': 'text/csv', 'content-length': String(10 << 20), 'x-request-id': 'abort-1' },
    });
    upload.on('error', () => undefined);
    upload.write(`text\n${Array.from({ length: 200 }, (_, i) => `abandoned row ${i}`).join('\n')}\n`);
    try {
      // The API has read some of it (a chunk is stored) when the client goes away.
      await eventually(async () => (await chunks()).length > 0, 10_000, 'a chunk of the upload to be stored');
      upload.destroy();
      await eventually(async () => parseLogLines(t.logs.slice(before)).some((line) => line.requestId === 'abort-1'), 10_000, 'the abandoned upload to be logged');
      // Its batch is taken back, and the take-back writes nothing more.
      await eventually(async () => (await chunks()).length === 0, 10_000, 'the abandoned upload to be taken back');
    } finally {
      redis.disconnect();
    }
    const lines = parseLogLines(t.logs.slice(before));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', component: 'http', requestId: 'abort-1', clientGone: true });
    expect(lines[0].msg).toBe('POST /batches: the client went away (the client closed the connection before the upload ended; no batch was created)');
    expect(lines[0].err).toBeUndefined();
    expect(t.logs.slice(before).join('')).not.toMatch(/\bat .*\.js:\d+/);
  });

  describe('batch events', () => {
    let worker: TestWorker | undefined;
    afterAll(() => worker?.stop());

    it('each one is one info line, across the API and the worker: submitted, started, then completed, failed or cancelled', async () => {
      // Cancelled while queued: no worker runs yet.
      const cancelled = await upload(t, `text\n${Array.from({ length: 60 }, (_, i) => `never run ${i}`).join('\n')}\n`, 'cancel-upload');
      expect(cancelled.header).toBe('cancel-upload');
      expect((await t.client.request(CancelBatchDocument, { id: cancelled.id })).cancelBatch.status).toBe('CANCELLED');

      // Fails for good: chunk 1's stored rows are corrupt, so every run of it throws (see worker-faults.test.ts).
      const { submitBatch: doomed } = await t.client.request(SubmitBatchDocument, { input: { texts: Array.from({ length: 100 }, (_, i) => `doomed ${i}`) } });
      const redis = testRedis();
      await redis.set(redisKeys(t.prefix).batchChunk(doomed.id, 1), '{corrupt');
      redis.disconnect();

      // One text predicted first, so the completed batch counts a cached row.
      await t.client.request(PredictDocument, { text: 'completed 0' });
      const completed = await upload(t, `text\n${Array.from({ length: 60 }, (_, i) => `completed ${i}`).join('\n')}\n`, 'complete-upload');

      worker = await startTestWorker({ ...shared, SIFT_KEY_PREFIX: t.prefix, SIFT_WORKER_CONCURRENCY: '2', SIFT_STALL_INTERVAL_MS: '500' });
      const ends = { completed: await finished(t.client, completed.id), doomed: await finished(t.client, doomed.id), cancelled: await finished(t.client, cancelled.id) };
      expect([ends.completed.status, ends.doomed.status, ends.cancelled.status]).toEqual(['COMPLETED', 'FAILED', 'CANCELLED']);
      // The ended line is written once the record says so (it reads the record as it ended).
      await eventually(async () => [completed.id, doomed.id, cancelled.id].every((id) => eventsOf(allLines(t, worker), id).some((line) => line.event !== 'batch.submitted' && line.event !== 'batch.started')), 10_000, 'the ended lines');

      const lines = allLines(t, worker);
      for (const line of lines) expect(line).toMatchObject({ pid: process.pid });
      expect(parseLogLines(worker.logs).every((line) => line.role === 'worker')).toBe(true);

      // Completed: submitted by the API (carrying the upload's request id), started and completed by the worker.
      const forCompleted = eventsOf(lines, completed.id);
      expect(forCompleted.map((line) => [line.role, line.event])).toEqual([
        ['api', 'batch.submitted'],
        ['worker', 'batch.started'],
        ['worker', 'batch.completed'],
      ]);
      expect(forCompleted.every((line) => line.level === 'info' && line.component === 'batches')).toBe(true);
      expect(forCompleted[0]).toMatchObject({ requestId: 'complete-upload', rows: 60, model: 'tiny-hashed', by: 'local (auth off)' });
      expect(forCompleted[0].msg).toBe(`batch ${completed.id} submitted: 60 rows for model tiny-hashed, by local (auth off)`);
      expect(forCompleted[1].requestId).toBeUndefined();
      expect(forCompleted[2]).toMatchObject({ model: 'tiny-hashed', rows: 60, processed: 60, succeeded: 60, failed: 0, cached: 1 });
      expect(forCompleted[2].seconds).toBeGreaterThan(0);
      const rate = 60 / (forCompleted[2].seconds as number);
      expect(Math.abs((forCompleted[2].rowsPerSecond as number) - rate) / rate).toBeLessThan(0.02);
      expect(forCompleted[2].msg).toMatch(new RegExp(`^batch ${completed.id} completed: 60 of 60 rows processed \\(60 succeeded, 0 failed, 1 from the cache\\) in [\\d.]+ s \\([\\d.]+ rows/s\\)$`));

      // Failed: its first chunks were counted (started), then chunk 1 ended it.
      const forDoomed = eventsOf(lines, doomed.id);
      expect(forDoomed.map((line) => [line.role, line.event])).toEqual([
        ['api', 'batch.submitted'],
        ['worker', 'batch.started'],
        ['worker', 'batch.failed'],
      ]);
      expect(forDoomed[2]).toMatchObject({ rows: 100, processed: ends.doomed.processed, failed: ends.doomed.failed });
      expect(forDoomed[2].error).toMatch(/^Chunk 1 kept failing: .*JSON/);

      // Cancelled by the API before any worker took it: never started.
      const forCancelled = eventsOf(lines, cancelled.id);
      expect(forCancelled.map((line) => [line.role, line.event])).toEqual([
        ['api', 'batch.submitted'],
        ['api', 'batch.cancelled'],
      ]);
      expect(forCancelled[1]).toMatchObject({ rows: 60, processed: 0, succeeded: 0 });
    }, 60_000);
  });
});

describe('JSON logs at debug', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_LOG_LEVEL: 'debug' });
  });
  afterAll(() => t.stop());

  it('one line per request once answered, with its request id, method, path, status and time', async () => {
    await t.client.request(PredictDocument, { text: 'warm up' });
    const response = await fetch(`${t.api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'test-123' }, body: predictBody('warm soup') });
    expect(response.headers.get('x-request-id')).toBe('test-123');
    await response.text();
    await eventually(async () => parseLogLines(t.logs).some((line) => line.requestId === 'test-123'), 5000, 'the request line');
    const lines = parseLogLines(t.logs).filter((line) => line.requestId === 'test-123');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'debug', role: 'api', component: 'http', method: 'POST', path: '/graphql', status: 200 });
    expect(lines[0].ms).toEqual(expect.any(Number));
    expect(lines[0].msg).toMatch(/^POST \/graphql 200 in [\d.]+ ms$/);
  });
});
