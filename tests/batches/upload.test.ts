import { parse } from 'csv-parse/sync';
import { BatchDocument, BatchesDocument } from '../../src/client/generated/graphql';
import { startTestApi, type TestApi } from '../support/api';
import { finished } from '../support/batches';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const models = tinyModelsDir();
const shared = { SIFT_MODELS_DIR: models, SIFT_DEFAULT_MODEL: 'tiny-transformer' };

interface Upload {
  status: number;
  body: { id: string; status: string; total: number } & { error?: { code: string; message: string } };
}

async function upload(t: TestApi, body: string | Buffer | ReadableStream<Uint8Array>, contentType: string | null, query: Record<string, string> = {}): Promise<Upload> {
  const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
  const init = { method: 'POST', headers, body, duplex: 'half' } as RequestInit;
  const response = await fetch(`${t.api.url}/batches?${new URLSearchParams(query)}`, init);
  return { status: response.status, body: (await response.json()) as Upload['body'] };
}

async function download(t: TestApi, id: string, format: 'csv' | 'jsonl'): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${t.api.url}/batches/${id}/results.${format}`);
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

async function batchCount(t: TestApi): Promise<number> {
  return (await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length;
}

describe('POST /batches and results downloads, with a real worker', () => {
  let t: TestApi;
  let worker: WorkerProcess;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '25', SIFT_MAX_UPLOAD_BYTES: '200000', SIFT_MAX_INLINE_ROWS: '10' });
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
  });
  afterAll(async () => {
    await worker.stop();
    await t.stop();
  });

  it('takes a CSV file of more rows than the inline limit, and serves every row in input order as CSV and JSON Lines', async () => {
    const rows = Array.from({ length: 120 }, (_, i) => ({
      ref: `r${i}`,
      text: i === 50 ? '' : i % 4 === 0 ? `a great, "lovely" movie\nline two ${i}` : `an awful film ${i % 10}`,
    }));
    const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const csv = `\uFEFFref,text,extra\r\n${rows.map((r) => `${r.ref},${quote(r.text)},x`).join('\r\n')}\r\n`;
    const submitted = await upload(t, csv, 'text/csv; charset=utf-8', { idColumn: 'ref' });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toEqual({ id: expect.any(String), status: expect.stringMatching(/QUEUED|RUNNING|COMPLETED/), total: 120 });

    const batch = await finished(t.client, submitted.body.id);
    expect(batch).toMatchObject({ status: 'COMPLETED', total: 120, processed: 120, failed: 1, succeeded: 119 });

    const asCsv = await download(t, submitted.body.id, 'csv');
    expect(asCsv.status).toBe(200);
    expect(asCsv.type).toMatch(/^text\/csv/);
    const records = parse(asCsv.text, { columns: true }) as Record<string, string>[];
    expect(Object.keys(records[0])).toEqual(['index', 'id', 'text', 'label', 'score', 'score_NEGATIVE', 'score_POSITIVE', 'cached', 'error']);
    expect(records.map((r) => [r.index, r.id, r.text])).toEqual(rows.map((r, i) => [String(i), r.ref, r.text]));
    records.forEach((record, i) => {
      if (i === 50) {
        expect([record.label, record.score, record.cached]).toEqual(['', '', '']);
        expect(record.error).toMatch(/empty/);
        return;
      }
      expect(record.label).toBe(i % 4 === 0 ? 'POSITIVE' : 'NEGATIVE');
      expect(Number(record.score)).toBe(Math.max(Number(record.score_NEGATIVE), Number(record.score_POSITIVE)));
      expect(Number(record.score_NEGATIVE) + Number(record.score_POSITIVE)).toBeCloseTo(1, 5);
      expect(record.error).toBe('');
    });
    // Ten distinct negative texts repeat over 90 rows: the rows after the first of each come from the cache.
    expect(records.filter((r) => r.cached === 'true').length).toBe(batch.cached);

    const asJsonl = await download(t, submitted.body.id, 'jsonl');
    expect(asJsonl.type).toMatch(/^application\/x-ndjson/);
    const objects = asJsonl.text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(objects).toHaveLength(120);
    objects.forEach((object, i) => {
      const record = records[i];
      expect(object).toEqual({
        index: i,
        id: record.id,
        text: record.text,
        label: record.label || null,
        score: record.score ? Number(record.score) : null,
        score_NEGATIVE: record.score_NEGATIVE ? Number(record.score_NEGATIVE) : null,
        score_POSITIVE: record.score_POSITIVE ? Number(record.score_POSITIVE) : null,
        cached: record.cached ? record.cached === 'true' : null,
        error: record.error || null,
      });
    });
  }, 60_000);

  it('takes JSON Lines streamed in small pieces, with the text field named by textColumn; a row without it fails alone', async () => {
    const lines = Array.from({ length: 60 }, (_, i) => (i === 7 ? JSON.stringify({ n: i }) : JSON.stringify({ n: i, body: `très bon film ☺ ${i}` })));
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    // 7-byte pieces split multi-byte characters across pieces, as a slow network would.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 7) controller.enqueue(bytes.subarray(i, i + 7));
        controller.close();
      },
    });
    const submitted = await upload(t, body, 'application/x-ndjson', { textColumn: 'body', idColumn: 'n' });
    expect(submitted).toMatchObject({ status: 202, body: { total: 60 } });
    await finished(t.client, submitted.body.id);
    const objects = (await download(t, submitted.body.id, 'jsonl')).text.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string; text: string; error: string | null });
    expect(objects.map((o) => o.id)).toEqual(lines.map((_, i) => String(i)));
    expect(objects[8].text).toBe('très bon film ☺ 8');
    expect(objects[7]).toMatchObject({ text: '', error: expect.stringMatching(/text field is missing/) });
  }, 60_000);

  it('returns the first batch for a repeated idempotency key', async () => {
    const key = `upload-${Date.now()}`;
    const first = await upload(t, 'text\none\ntwo\n', 'text/csv', { idempotencyKey: key });
    const again = await upload(t, 'text\nsomething else entirely\n', 'text/csv', { idempotencyKey: key });
    expect(again).toEqual({ status: 202, body: { ...first.body, status: expect.any(String) } });
  });

  it('refuses bad input with a 4xx, a stable code and a message that says what to do, and creates no batch', async () => {
    const before = await batchCount(t);
    const cases: [string | Buffer, string | null, Record<string, string>, number, string, RegExp][] = [
      ['', 'text/csv', {}, 400, 'EMPTY_INPUT', /no rows/],
      ['text\n', 'text/csv', {}, 400, 'EMPTY_INPUT', /no rows/],
      ['\n\n', 'application/x-ndjson', {}, 400, 'EMPTY_INPUT', /no rows/],
      ['id,body\n1,hello\n', 'text/csv', {}, 400, 'MISSING_COLUMN', /no column "text" .*"id", "body"/],
      ['text\nhello\n', 'text/csv', { idColumn: 'ref' }, 400, 'MISSING_COLUMN', /no id column "ref"/],
      ['text,id\nfine,1\n"unclosed,2\n', 'text/csv', {}, 400, 'MALFORMED_CSV', /line 3/],
      ['text,id\nfine,1\nfine,2,3\n', 'text/csv', {}, 400, 'MALFORMED_CSV', /line 3/],
      ['{"text":"a"}\n{"text": oops}\n', 'application/x-ndjson', {}, 400, 'MALFORMED_JSON', /Line 2 is not valid JSON/],
      ['{"text":"a"}\n["b"]\n', 'application/x-ndjson', {}, 400, 'MALFORMED_JSON', /Line 2 is not a JSON object/],
      [Buffer.concat([Buffer.from('text\ncafé\nna'), Buffer.from([0xef, 0xbb]), Buffer.from('ve\n')]), 'text/csv', {}, 400, 'NOT_UTF8', /offset 13 \(line 3\).*Save the file as UTF-8/],
      [Buffer.from('text\nLatin-1 caf\xe9\n', 'latin1'), 'text/csv', {}, 400, 'NOT_UTF8', /offset 16 \(line 2\)/],
      ['text\nhello\n', 'text/csv', { model: 'nope' }, 400, 'UNKNOWN_MODEL', /Unknown model "nope"/],
      ['text\nhello\n', 'text/csv', { textcolumn: 'text' }, 400, 'BAD_BATCH_OPTIONS', /Unknown query parameter "textcolumn"; .*textColumn/],
      ['text\nhello\n', 'application/json', {}, 415, 'UNSUPPORTED_MEDIA_TYPE', /application\/json; send a CSV file as text\/csv/],
      [Buffer.from('text\nhello\n'), null, {}, 415, 'UNSUPPORTED_MEDIA_TYPE', /no Content-Type/],
      ['text\nhello\n', 'text/csv; charset=iso-8859-1', {}, 415, 'UNSUPPORTED_MEDIA_TYPE', /UTF-8 only/],
      [`text\n${'a fine movie\n'.repeat(20_000)}`, 'text/csv', {}, 413, 'UPLOAD_TOO_LARGE', /larger than 200000 bytes.*SIFT_MAX_UPLOAD_BYTES/],
    ];
    for (const [body, type, query, status, code, message] of cases) {
      const answer = await upload(t, body, type, query);
      expect([answer.status, answer.body.error?.code]).toEqual([status, code]);
      expect(answer.body.error?.message).toMatch(message);
    }
    expect(await batchCount(t)).toBe(before);
  });

  it('points Location at GET /batches/{id}, which answers the batch as JSON: the GraphQL Batch fields, labelCounts and the downloads', async () => {
    const response = await fetch(`${t.api.url}/batches?idColumn=ref`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'ref,text\n1,a good movie\n2,an awful movie\n3,great\n' });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    expect(response.headers.get('location')).toBe(`/batches/${id}`);
    await finished(t.client, id);

    const answer = await fetch(new URL(response.headers.get('location')!, t.api.url));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const { batch } = await t.client.request(BatchDocument, { id });
    const json = (await answer.json()) as Record<string, unknown>;
    expect(json).toEqual({ ...batch, downloads: { csv: `/batches/${id}/results.csv`, jsonl: `/batches/${id}/results.jsonl` } });
    expect(json).toMatchObject({ status: 'COMPLETED', total: 3, succeeded: 3, labelCounts: [{ label: 'NEGATIVE', count: 1 }, { label: 'POSITIVE', count: 2 }] });
    // The download paths answer.
    const csv = await fetch(new URL((json.downloads as { csv: string }).csv, t.api.url));
    expect([csv.status, (await csv.text()).split('\r\n')[1]]).toEqual([200, expect.stringMatching(/^0,1,a good movie,POSITIVE,/)]);
  });

  it('answers GET /batches/{id} of an unknown batch with a 404 JSON error, as the downloads do', async () => {
    const answer = await fetch(`${t.api.url}/batches/no-such-batch`);
    expect(answer.status).toBe(404);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await answer.json()).toEqual({ error: { code: 'UNKNOWN_BATCH', message: 'No batch has the id "no-such-batch" (or it expired).' } });
  });

  it('answers 404 with a JSON error for the results of an unknown batch', async () => {
    const answer = await fetch(`${t.api.url}/batches/no-such-batch/results.csv`);
    expect(answer.status).toBe(404);
    expect(await answer.json()).toEqual({ error: { code: 'UNKNOWN_BATCH', message: expect.stringMatching(/No batch has the id "no-such-batch"/) } });
  });
});

describe('results of a batch still running', () => {
  it('are the rows finished so far: none while no worker runs, all once one has', async () => {
    const t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '10' });
    let worker: WorkerProcess | undefined;
    try {
      const submitted = await upload(t, `text\n${Array.from({ length: 30 }, (_, i) => `waiting ${i}`).join('\n')}\n`, 'text/csv');
      expect(submitted.body).toMatchObject({ status: 'QUEUED', total: 30 });
      const early = await download(t, submitted.body.id, 'csv');
      expect(early.text.trimEnd().split('\r\n')).toHaveLength(1);
      worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
      await finished(t.client, submitted.body.id);
      const late = await download(t, submitted.body.id, 'csv');
      expect(late.text.trimEnd().split('\r\n')).toHaveLength(31);
    } finally {
      await worker?.stop();
      await t.stop();
    }
  }, 60_000);
});
