import { gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { BatchDocument, BatchesDocument, BatchResultsDocument, CancelBatchDocument, PredictManyDocument, SubmitBatchDocument, type SubmitBatchInput } from '../../src/client/generated/graphql';
import { LegacyInputFingerprint } from '../../src/batches/input-fingerprint';
import { SiftRequestError } from '../../src/client/sift-client';
import { redisKeys } from '../../src/redis/keys';
import { freePort, startTestApi, type TestApi } from '../support/api';
import { startApiProcess } from '../support/api-process';
import { finished } from '../support/batches';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
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
    expect(submitted.body).toEqual({ id: expect.any(String), status: expect.stringMatching(/QUEUED|RUNNING|COMPLETED/), total: 120, priority: 'NORMAL' });

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

  it('takes JSON Lines streamed in small pieces, with the text field named by textColumn; a row without it, or with a number in it, fails alone', async () => {
    const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify(i === 7 ? { n: i } : { n: i, body: i === 11 ? 5 : `très bon film ☺ ${i}` }));
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
    expect(objects[11]).toMatchObject({ text: '', error: 'The text field is missing from this row, or is not a string.' });
  }, 60_000);

  it('returns the first batch for a repeated idempotency key with the same content, in any format; other content is a 409 conflict', async () => {
    const key = `upload-${Date.now()}`;
    const first = await upload(t, 'text\none\ntwo\n', 'text/csv', { idempotencyKey: key });
    const again = await upload(t, 'text\r\none\r\ntwo\r\n', 'text/csv', { idempotencyKey: key });
    expect(again).toEqual({ status: 202, body: { ...first.body, status: expect.any(String) } });
    const asJsonLines = await upload(t, '{"text":"one"}\n{"text":"two"}\n', 'application/x-ndjson', { idempotencyKey: key });
    expect(asJsonLines.body.id).toBe(first.body.id);
    // NORMAL given is NORMAL left out (and what a batch recorded before priorities existed has).
    expect((await upload(t, 'text\none\ntwo\n', 'text/csv', { idempotencyKey: key, priority: 'NORMAL' })).body.id).toBe(first.body.id);
    const before = await batchCount(t);
    for (const [body, query] of [
      ['text\nsomething else entirely\n', {}],
      ['text\none\ntwo\nthree\n', {}],
      ['text\none\ntwo\n', { model: 'tiny-hashed' }],
      ['text,id\none,a\ntwo,b\n', { idColumn: 'id' }],
      ['text\none\ntwo\n', { priority: 'HIGH' }],
    ] as const) {
      const conflict = await upload(t, body, 'text/csv', { idempotencyKey: key, ...query });
      expect(conflict.status).toBe(409);
      expect(conflict.body).toMatchObject({ error: { code: 'IDEMPOTENCY_CONFLICT', message: expect.stringContaining(first.body.id) } });
    }
    expect(await batchCount(t)).toBe(before);
    // Over GraphQL the same rule holds.
    const inline = { texts: ['x', 'y'], idempotencyKey: `${key}-inline` };
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: inline });
    expect((await t.client.request(SubmitBatchDocument, { input: inline })).submitBatch.id).toBe(submitBatch.id);
    const refused = await t.client.request(SubmitBatchDocument, { input: { ...inline, texts: ['x', 'z'] } }).catch((e: unknown) => e);
    expect((refused as SiftRequestError).reason).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('compares a repeated idempotency key\'s rows across chunks, and with the fingerprint an earlier release recorded', async () => {
    // 60 rows: three chunks of 25 when stored; the JSON Lines replay arrives cut otherwise.
    const texts = Array.from({ length: 60 }, (_, i) => `row number ${i}`);
    const key = `chunks-${Date.now()}`;
    const first = await upload(t, `text\n${texts.join('\n')}\n`, 'text/csv', { idempotencyKey: key });
    expect(first.status).toBe(202);
    expect((await upload(t, texts.map((text) => JSON.stringify({ text })).join('\n'), 'application/x-ndjson', { idempotencyKey: key })).body.id).toBe(first.body.id);
    const changed = [...texts.slice(0, 59), 'row number 60'];
    expect((await upload(t, `text\n${changed.join('\n')}\n`, 'text/csv', { idempotencyKey: key })).body.error?.code).toBe('IDEMPOTENCY_CONFLICT');
    // A key recorded by a release before this one's fingerprint: its own form of digest is compared.
    const legacy = new LegacyInputFingerprint('tiny-transformer');
    legacy.add(texts.map((text, index) => ({ index, id: null, text })));
    const recorded = `recorded-${Date.now()}`;
    const redis = testRedis();
    await redis.set(redisKeys(t.prefix).idempotency(`local:${recorded}`), JSON.stringify({ batch: first.body.id, fingerprint: legacy.digest() }), 'EX', 60);
    redis.disconnect();
    expect((await upload(t, `text\n${texts.join('\n')}\n`, 'text/csv', { idempotencyKey: recorded })).body.id).toBe(first.body.id);
    expect((await upload(t, `text\n${changed.join('\n')}\n`, 'text/csv', { idempotencyKey: recorded })).body.error?.code).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('refuses bad input with a 4xx, a stable code and a message that says what to do, and creates no batch', async () => {
    const before = await batchCount(t);
    const cases: [string | Buffer, string | null, Record<string, string>, number, string, RegExp][] = [
      ['', 'text/csv', {}, 400, 'EMPTY_INPUT', /no rows/],
      ['text\n', 'text/csv', {}, 400, 'EMPTY_INPUT', /no rows/],
      ['\n\n', 'application/x-ndjson', {}, 400, 'EMPTY_INPUT', /no rows/],
      ['id,body\n1,hello\n', 'text/csv', {}, 400, 'MISSING_COLUMN', /no column "text" .*"id", "body"/],
      ['text\nhello\n', 'text/csv', { idColumn: 'ref' }, 400, 'MISSING_COLUMN', /no id column "ref"/],
      // Which "text" was meant is a guess: it was silently the first.
      ['text,id,text\nhello,1,bye\n', 'text/csv', {}, 400, 'DUPLICATE_COLUMN', /names the column "text" 2 times \(columns 1, 3\).*rename the others/],
      ['text,id\nfine,1\n"unclosed,2\n', 'text/csv', {}, 400, 'MALFORMED_CSV', /line 3/],
      ['text,id\nfine,1\nfine,2,3\n', 'text/csv', {}, 400, 'MALFORMED_CSV', /line 3/],
      // csv-parse's one code without the CSV_ prefix (a quote inside an unquoted field) was a 500.
      ['text,id\nfine,1\nfi"ne,2\n', 'text/csv', {}, 400, 'MALFORMED_CSV', /line 3: Invalid Opening Quote/],
      ['{"text":"a"}\n{"text": oops}\n', 'application/x-ndjson', {}, 400, 'MALFORMED_JSON', /Line 2 is not valid JSON/],
      ['{"text":"a"}\n["b"]\n', 'application/x-ndjson', {}, 400, 'MALFORMED_JSON', /Line 2 is not a JSON object/],
      [Buffer.concat([Buffer.from('text\ncafé\nna'), Buffer.from([0xef, 0xbb]), Buffer.from('ve\n')]), 'text/csv', {}, 400, 'NOT_UTF8', /offset 13 \(line 3\).*Save the file as UTF-8/],
      [Buffer.from('text\nLatin-1 caf\xe9\n', 'latin1'), 'text/csv', {}, 400, 'NOT_UTF8', /offset 16 \(line 2\)/],
      ['text\nhello\n', 'text/csv', { model: 'nope' }, 400, 'UNKNOWN_MODEL', /Unknown model "nope"/],
      ['text\nhello\n', 'text/csv', { textcolumn: 'text' }, 400, 'BAD_BATCH_OPTIONS', /Unknown query parameter "textcolumn"; .*textColumn/],
      ['text\nhello\n', 'text/csv', { priority: 'urgent' }, 400, 'BAD_BATCH_OPTIONS', /priority must be one of HIGH, NORMAL, LOW; got "urgent"/],
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

  it('refuses a compressed upload with 415, saying to send it uncompressed, and creates no batch', async () => {
    const before = await batchCount(t);
    // gzip was read as text (NOT_UTF8, "save the file as UTF-8"); br over plain bytes was taken as it was.
    for (const [encoding, body] of [['gzip', gzipSync('text\nhello\n')], ['br', Buffer.from('text\nhello\n')]] as const) {
      const response = await fetch(`${t.api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv', 'content-encoding': encoding }, body });
      const answer = (await response.json()) as Upload['body'];
      expect({ encoding, status: response.status, code: answer.error?.code }).toEqual({ encoding, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
      expect(answer.error?.message).toMatch(new RegExp(`Content-Encoding ${encoding}; Sift reads uploads uncompressed`));
    }
    expect(await batchCount(t)).toBe(before);
  });

  it('points Location at GET /batches/{id}, which answers the batch as JSON: the GraphQL Batch fields, labelCounts and the downloads', async () => {
    const response = await fetch(`${t.api.url}/batches?idColumn=ref&priority=low`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'ref,text\n1,a good movie\n2,an awful movie\n3,great\n' });
    expect(response.status).toBe(202);
    const { id, priority } = (await response.json()) as { id: string; priority: string };
    // The priority in any case, said back as the API names it.
    expect(priority).toBe('LOW');
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

  it('labels several columns together with textColumns: non-blank cells joined with a line break, one prediction a row (CSV and JSON Lines)', async () => {
    const rows = [
      { title: 'great great great', body: 'bad movie' },
      { title: '', body: 'bad movie' },
      { title: 'awful, awful', body: 'good "good" movie' },
      { title: ' ', body: '' },
    ];
    const joined = ['great great great\nbad movie', 'bad movie', 'awful, awful\ngood "good" movie', ''];
    const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
    const csv = `n,title,body\n${rows.map((r, i) => `${i},${quote(r.title)},${quote(r.body)}`).join('\n')}\n`;
    const jsonl = `${rows.map((r, i) => JSON.stringify(i === 1 ? { n: i, body: r.body } : { n: i, ...r })).join('\n')}\n`;
    const { predictMany } = await t.client.request(PredictManyDocument, { texts: joined.slice(0, 3), model: null });
    for (const [body, type] of [[csv, 'text/csv'], [jsonl, 'application/x-ndjson']]) {
      const submitted = await upload(t, body, type, { textColumns: 'title,body', idColumn: 'n' });
      expect([type, submitted.status]).toEqual([type, 202]);
      await finished(t.client, submitted.body.id);
      const objects = (await download(t, submitted.body.id, 'jsonl')).text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(objects.map((o) => [o.id, o.text])).toEqual(joined.map((text, i) => [String(i), text]));
      objects.slice(0, 3).forEach((o, i) => expect([o.label, o.score]).toEqual([predictMany[i].label, predictMany[i].score]));
      expect(objects.map((o) => o.label)).toEqual(['POSITIVE', 'NEGATIVE', 'NEGATIVE', null]);
      expect(objects[3].error).toMatch(/empty/);
    }
  }, 60_000);

  it('refuses textColumns naming missing columns (every one listed) or given with textColumn, and creates no batch', async () => {
    const before = await batchCount(t);
    const missing = await upload(t, 'id,title\n1,hello\n', 'text/csv', { textColumns: 'title,summary,body' });
    expect(missing).toEqual({
      status: 400,
      body: {
        error: {
          code: 'MISSING_COLUMN',
          message: 'The header has no columns "summary", "body" of the text columns "title", "summary", "body"; the columns found are "id", "title". Name the text columns with textColumns.',
          missing: ['summary', 'body'],
        },
      },
    });
    const both = await upload(t, 'title,text\na,b\n', 'text/csv', { textColumn: 'text', textColumns: 'title,text' });
    expect([both.status, both.body.error?.code, both.body.error?.message]).toEqual([400, 'BAD_BATCH_OPTIONS', expect.stringContaining('Give textColumn or textColumns, not both')]);
    const empty = await upload(t, 'title,text\na,b\n', 'text/csv', { textColumns: 'title,,text' });
    expect([empty.status, empty.body.error?.code]).toEqual([400, 'BAD_BATCH_OPTIONS']);
    expect(await batchCount(t)).toBe(before);
  });

  it('takes textColumns in submitBatch too, with the same rule and the same refusals', async () => {
    const csv = 'title,body\ngreat great great,bad movie\n,bad movie\n';
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { csv, textColumns: ['title', 'body'] } });
    await finished(t.client, submitBatch.id);
    const results = (await t.client.request(BatchResultsDocument, { id: submitBatch.id, offset: 0, limit: 10 })).batch!.results;
    const { predictMany } = await t.client.request(PredictManyDocument, { texts: ['great great great\nbad movie', 'bad movie'], model: null });
    expect(results.map((r) => [r.text, r.prediction?.label, r.prediction?.score])).toEqual(predictMany.map((p) => [p.text, p.label, p.score]));
    expect(results.map((r) => r.prediction?.label)).toEqual(['POSITIVE', 'NEGATIVE']);

    const refusal = async (input: SubmitBatchInput) => t.client.request(SubmitBatchDocument, { input }).then(() => null, (error: SiftRequestError) => [error.reason, error.message]);
    expect(await refusal({ csv, textColumn: 'title', textColumns: ['title', 'body'] })).toEqual(['BAD_BATCH_OPTIONS', expect.stringContaining('Give textColumn or textColumns, not both')]);
    expect(await refusal({ csv, textColumns: ['title', 'summary', 'body2'] })).toEqual(['MISSING_COLUMN', expect.stringContaining('no columns "summary", "body2" of the text columns')]);
    expect(await refusal({ texts: ['a'], textColumns: ['title'] })).toEqual(['BAD_BATCH_OPTIONS', expect.stringContaining('textColumns names columns of csv')]);
    // textColumn alone, and neither, still work as before.
    const one = (await t.client.request(SubmitBatchDocument, { input: { csv: 'body\ngood\n', textColumn: 'body' } })).submitBatch;
    const neither = (await t.client.request(SubmitBatchDocument, { input: { csv: 'text\ngood\n' } })).submitBatch;
    expect([one.total, neither.total]).toEqual([1, 1]);
  }, 60_000);

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

  it('with follow=true are streamed as they finish until the batch ends: every row in input order, from a download asked for before any worker ran', async () => {
    const t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '10' });
    let worker: WorkerProcess | undefined;
    try {
      const submitted = await upload(t, `text\n${Array.from({ length: 30 }, (_, i) => `following ${i}`).join('\n')}\n`, 'text/csv');
      const response = await fetch(`${t.api.url}/batches/${submitted.body.id}/results.csv?follow=true&echo=false`);
      expect(response.status).toBe(200);
      const body = response.body!.getReader();
      const header = new TextDecoder().decode((await body.read()).value);
      expect(header).toBe('index,label,score,score_NEGATIVE,score_POSITIVE,cached,error\r\n');
      // Nothing labels the batch yet: the download waits rather than ends.
      const pending = body.read();
      const waiting = await Promise.race([pending.then(() => 'ended or sent'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 500))]);
      expect(waiting).toBe('waiting');
      worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
      let rest = '';
      for (let piece = await pending; !piece.done; piece = await body.read()) rest += new TextDecoder().decode(piece.value);
      const lines = rest.trimEnd().split('\r\n');
      expect(lines.map((line) => Number(line.split(',')[0]))).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect((await t.client.request(BatchDocument, { id: submitted.body.id })).batch).toMatchObject({ status: 'COMPLETED', processed: 30 });
    } finally {
      await worker?.stop();
      await t.stop();
    }
  }, 60_000);

  it('with follow=true end with the rows finished when the batch is cancelled, and when the API stops', async () => {
    const t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '10' });
    let stopped = false;
    try {
      const cancelled = await upload(t, 'text\nnever labelled\n', 'text/csv');
      const following = fetch(`${t.api.url}/batches/${cancelled.body.id}/results.jsonl?follow=true`).then((r) => r.text());
      await new Promise((resolve) => setTimeout(resolve, 300));
      await t.client.request(CancelBatchDocument, { id: cancelled.body.id });
      expect(await following).toBe('');

      // A follower waiting when the API stops is ended (its client then downloads again from another server), not waited for.
      const running = await upload(t, 'text\nstill queued\n', 'text/csv');
      const response = await fetch(`${t.api.url}/batches/${running.body.id}/results.jsonl?follow=true`);
      const body = response.text().then(() => 'completed', (error: Error) => `broke off: ${error.message}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      stopped = true;
      await t.stop();
      // Cut off, not ended: a client can tell it from a complete answer (result-follower.test.ts checks the stop itself).
      expect(await body).toMatch(/^broke off/);
      // A planned stop is no fault: said at info level (it was an error with a stack trace, which alerts).
      const said = t.logs.map((line) => JSON.parse(line) as { level: string; msg: string }).filter((line) => line.msg.includes(running.body.id));
      expect(said.filter((line) => line.level === 'error' || line.level === 'warn')).toEqual([]);
      expect(said.map((line) => line.msg)).toEqual(expect.arrayContaining([expect.stringMatching(/ended by the server's stop/)]));
    } finally {
      if (!stopped) await t.stop();
    }
  }, 60_000);

  it('refuses follow other than true or false with a 400 BAD_REQUEST that says which values it takes', async () => {
    const t = await startTestApi({ ...shared });
    try {
      const submitted = await upload(t, 'text\na row\n', 'text/csv');
      const answer = await fetch(`${t.api.url}/batches/${submitted.body.id}/results.csv?follow=yes`);
      expect(answer.status).toBe(400);
      expect(await answer.json()).toEqual({ error: { code: 'BAD_REQUEST', message: expect.stringMatching(/follow as true .* or false/) } });
    } finally {
      await t.stop();
    }
  }, 60_000);
});

describe('many uploads at once', () => {
  it('twelve slow uploads side by side: every one answered, and no listener-leak warning on the API\'s stderr', async () => {
    const prefix = uniquePrefix('many-uploads');
    // Limits raised to twelve: past the defaults, uploads are refused TOO_MANY_UPLOADS (upload-slots.test.ts).
    const api = await startApiProcess(await freePort(), { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_KEY_PREFIX: prefix, SIFT_MAX_UPLOADS_PER_KEY: '12', SIFT_MAX_UPLOADS: '12' });
    try {
      // Each sends its rows in three pieces 300 ms apart, so all twelve are being read at once.
      const slow = (n: number) => {
        let piece = 0;
        return new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (piece === 3) return controller.close();
            if (piece > 0) await new Promise((resolve) => setTimeout(resolve, 300));
            controller.enqueue(Buffer.from(`${piece === 0 ? 'text\n' : ''}upload ${n} piece ${piece} warm\n`));
            piece++;
          },
        });
      };
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, n) => fetch(`${api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: slow(n), duplex: 'half' } as RequestInit)),
      );
      expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 12 }, () => 202));
      // Before, Node printed a MaxListenersExceededWarning on the server's stop signal: a raw stderr line amid the JSON logs.
      expect(api.output()).not.toMatch(/MaxListenersExceededWarning/);
    } finally {
      await api.stop();
      await deletePrefix(prefix);
    }
  }, 60_000);
});
