import type { Redis } from 'ioredis';
import { BatchesDocument } from '../../src/client/generated/graphql';
import { MAX_ID_LENGTH } from '../../src/batches/row-bounds';
import { startTestApi, type TestApi } from '../support/api';
import { finished } from '../support/batches';
import { scanKeys, testRedis } from '../support/redis';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

// tiny-transformer reads texts of up to 500 characters.
const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' };
const LONG = 200 * 1024;

async function upload(t: TestApi, csv: string): Promise<{ status: number; body: { id: string; error?: { code: string; message: string } } }> {
  const response = await fetch(`${t.api.url}/batches?idColumn=id`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
  return { status: response.status, body: (await response.json()) as { id: string } };
}

/** Bytes Redis spends on every key under the prefix. */
async function storedBytes(redis: Redis, prefix: string): Promise<number> {
  let total = 0;
  for await (const keys of scanKeys(redis, `${prefix}*`)) {
    for (const key of keys) total += Number(await redis.memory('USAGE', key, 'SAMPLES', '0')) || 0;
  }
  return total;
}

describe('rows far longer than a model reads (an upload of 200 KB texts)', () => {
  let t: TestApi;
  let worker: WorkerProcess;
  let redis: Redis;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '8' });
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    redis = testRedis();
  });
  afterAll(async () => {
    redis.disconnect();
    await worker.stop();
    await t.stop();
  });

  it('stores only the beginning of a text too long for the model: the row fails as before, and the batch keeps a few KB, not megabytes', async () => {
    const texts = Array.from({ length: 24 }, (_, i) => {
      if (i % 3 === 0) return `a fine short text ${i}`;
      if (i === 4) return ' '.repeat(LONG) + 'one word';
      if (i === 5) return ' '.repeat(LONG);
      return `${'long words '.repeat(LONG / 11)}${i}`;
    });
    const csv = `id,text\n${texts.map((text, i) => `r${i},"${text}"`).join('\n')}\n`;
    expect(csv.length).toBeGreaterThan(16 * LONG);
    const submitted = await upload(t, csv);
    expect(submitted.status).toBe(202);
    const batch = await finished(t.client, submitted.body.id);
    expect(batch).toMatchObject({ status: 'COMPLETED', total: 24, succeeded: 8, failed: 16 });

    const response = await fetch(`${t.api.url}/batches/${submitted.body.id}/results.jsonl`);
    const rows = (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as { id: string; text: string; error: string | null });
    expect(rows.map((row) => row.id)).toEqual(texts.map((_, i) => `r${i}`));
    rows.forEach((row, i) => {
      const whole = texts[i];
      if (i % 3 === 0) expect(row).toMatchObject({ text: whole, error: null });
      else if (i === 5) expect(row.error).toMatch(/empty or only whitespace/);
      else {
        expect(row.error).toMatch(/more than 500 characters/);
        expect(row.text.length).toBeLessThanOrEqual(1002);
        if (i !== 4) expect(whole.startsWith(row.text)).toBe(true);
      }
    });
    // Sixteen texts of 200 KB were uploaded (3.2 MB); what the batch keeps of them is their first 1,002 characters.
    expect(await storedBytes(redis, t.prefix)).toBeLessThan(200 * 1024);
  });

  it('refuses an upload with an id longer than MAX_ID_LENGTH characters (ID_TOO_LONG, naming the row), and leaves no batch', async () => {
    const before = (await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length;
    const csv = `id,text\nr0,fine\nr1,fine too\n${'i'.repeat(MAX_ID_LENGTH + 1)},a text\n`;
    const refused = await upload(t, csv);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toEqual({ code: 'ID_TOO_LONG', message: expect.stringContaining('Row 3 '), row: 3, maxIdLength: MAX_ID_LENGTH });
    expect((await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length).toBe(before);
  });
});
