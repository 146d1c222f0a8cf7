import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestKey, startTestApi, type TestApi } from '../support/api';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

/** An upload whose body the test sends piece by piece, noting the informational answers before the final one. */
function upload(t: TestApi, key: string, prefer: boolean) {
  const headers: Record<string, string> = { 'content-type': 'text/csv', authorization: `Bearer ${key}`, ...(prefer ? { prefer: 'early-batch-id' } : {}) };
  const request = http.request(`${t.api.url}/batches`, { method: 'POST', agent: false, headers });
  const informational: { status: number; headers: http.IncomingHttpHeaders }[] = [];
  const early = new Promise<string>((resolve) =>
    request.on('information', (info) => {
      informational.push({ status: info.statusCode, headers: info.headers });
      if (info.statusCode === 103) resolve(String(info.headers['sift-batch-id']));
    }),
  );
  const answer = new Promise<{ status: number; body: { id?: string; total?: number; error?: { code: string } } }>((resolve, reject) => {
    request.once('response', (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (piece: string) => (text += piece));
      response.once('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) }));
    });
    request.once('error', reject);
  });
  return { request, early, answer, informational };
}

const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `a row of its own number ${from + i}\n`).join('');

/** The index column of a results.csv without its header. */
const indices = (csv: string) =>
  csv
    .trim()
    .split('\r\n')
    .slice(1)
    .map((line) => Number(line.slice(0, line.indexOf(','))));

describe('a batch id told early (Prefer: early-batch-id)', () => {
  let t: TestApi;
  let worker: WorkerProcess;
  let key: string;
  const download = (id: string, query = 'follow=true&echo=false', as = key) => fetch(`${t.api.url}/batches/${id}/results.csv?${query}`, { headers: { authorization: `Bearer ${as}` } });
  beforeAll(async () => {
    const env = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_AUTH: 'keys', SIFT_CHUNK_SIZE: '10' };
    t = await startTestApi(env);
    key = t.apiKey!;
    worker = await startWorkerProcess({ ...env, SIFT_KEY_PREFIX: t.prefix });
  });
  afterAll(async () => {
    await worker.stop();
    await t.stop();
  });

  it('comes as a 103 while the rows are still being sent, with a link to the batch; only when asked', async () => {
    const asked = upload(t, key, true);
    asked.request.write(`text\n${rows(0, 25)}`);
    // The body is still open: the id comes before the upload ends.
    const id = await asked.early;
    expect(asked.informational).toEqual([{ status: 103, headers: expect.objectContaining({ link: `</batches/${id}>; rel="monitor"`, 'sift-batch-id': id }) }]);
    asked.request.end(rows(25, 50));
    expect(await asked.answer).toMatchObject({ status: 202, body: { id, total: 50 } });

    const plain = upload(t, key, false);
    plain.request.end(`text\n${rows(0, 5)}`);
    expect((await plain.answer).status).toBe(202);
    expect(plain.informational).toEqual([]);
  });

  it('lets its owner follow the results from the first row while the upload goes on, to the last, in order', async () => {
    const up = upload(t, key, true);
    up.request.write(`text\n${rows(0, 120)}`);
    const id = await up.early;
    // Not listed until its input is read: only a download that follows it knows it yet.
    expect((await fetch(`${t.api.url}/batches/${id}`, { headers: t.headers })).status).toBe(404);
    expect((await download(id, 'echo=false')).status).toBe(404);
    const following = await download(id);
    expect(following.status).toBe(200);
    const followed = following.text();
    // Rows labelled before the rest of the input comes go out meanwhile.
    await sleep(300);
    up.request.end(rows(120, 200));
    expect(await up.answer).toMatchObject({ status: 202, body: { id, total: 200 } });
    const text = await followed;
    expect(indices(text)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // The same rows as a download of the finished batch.
    expect(text).toBe(await (await download(id, 'echo=false')).text());
  }, 30_000);

  it("is no one else's: another key's download of the batch being uploaded is refused as unknown", async () => {
    const other = await createTestKey(t.prefix, 'another client', ['batches']);
    const up = upload(t, key, true);
    up.request.write(`text\n${rows(0, 10)}`);
    const id = await up.early;
    const refused = await download(id, 'follow=true', other);
    expect(refused.status).toBe(404);
    expect(await refused.json()).toMatchObject({ error: { code: 'UNKNOWN_BATCH' } });
    up.request.end(rows(10, 20));
    expect((await up.answer).status).toBe(202);
  });

  it('ends a download that followed an upload which then failed, with the rows it had', async () => {
    const up = upload(t, key, true);
    up.request.write(`text\n${rows(0, 30)}`);
    const id = await up.early;
    const following = await download(id);
    expect(following.status).toBe(200);
    // A stray quote: the upload is refused and its batch taken back.
    up.request.end('"a quote never closed\n');
    expect(await up.answer).toMatchObject({ status: 400, body: { error: { code: 'MALFORMED_CSV' } } });
    const text = await following.text();
    expect(text.split('\r\n')[0]).toMatch(/^index,/);
    expect(indices(text).every((index, i) => index === i)).toBe(true);
    expect((await download(id)).status).toBe(404);
  }, 30_000);
});
