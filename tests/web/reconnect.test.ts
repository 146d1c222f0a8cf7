import type { Browser, Page } from 'playwright-core';
import { BatchDocument, BatchResultsDocument, type BatchQuery } from '../../src/client/generated/graphql';
import { SiftClient } from '../../src/client/sift-client';
import { redisKeys } from '../../src/redis/keys';
import { createTestKey, eventually, freePort } from '../support/api';
import { startApiProcess, type ApiProcess } from '../support/api-process';
import { countGraphQLRequests, launchBrowser, withApiKey } from '../support/browser';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };
// The API needs a key (SIFT_AUTH=keys); it lives in Redis, so the restarted API takes it too.
const keyed = { ...shared, SIFT_AUTH: 'keys' };
const ROWS = 30_000;
const count = (n: number) => n.toLocaleString('en-US');

/** The first cell (the row's index) of each row the table shows, as numbers. */
async function shownIndices(page: Page): Promise<number[]> {
  return (await page.getByTestId('rows').locator('tr > td:first-child').allTextContents()).map(Number);
}

/** The label cell of each row the table shows. */
async function shownLabels(page: Page): Promise<string[]> {
  return page.getByTestId('rows').locator('tr > td.label').allTextContents();
}

/** The variables of every subscription the page sends over its WebSockets, in order. */
function subscriptionVariables(page: Page): Record<string, unknown>[] {
  const sent: Record<string, unknown>[] = [];
  page.on('websocket', (socket) =>
    socket.on('framesent', ({ payload }) => {
      const message = JSON.parse(String(payload)) as { type?: string; payload?: { variables?: Record<string, unknown> } };
      if (message.type === 'subscribe') sent.push(message.payload?.variables ?? {});
    }),
  );
  return sent;
}

/** The payload of every connection_init the page sends (each socket's first message), in order. */
function connectionInits(page: Page): unknown[] {
  const sent: unknown[] = [];
  page.on('websocket', (socket) =>
    socket.on('framesent', ({ payload }) => {
      const message = JSON.parse(String(payload)) as { type?: string; payload?: unknown };
      if (message.type === 'connection_init') sent.push(message.payload);
    }),
  );
  return sent;
}

/** Rows per label as the chart draws them, from each bar's accessible name ("label: n rows"). */
async function chartCounts(page: Page): Promise<Record<string, number>> {
  const names = await page.getByTestId('label-chart').getByRole('img').evaluateAll((bars: any[]) => bars.map((bar) => bar.getAttribute('aria-label') as string));
  return Object.fromEntries(names.map((name) => /^(.*): (\d+) rows$/.exec(name)!.slice(1)).map(([label, n]) => [label, Number(n)]));
}

describe('the web page watching a batch while the API is killed and started again', () => {
  let api: ApiProcess;
  let worker: WorkerProcess;
  let client: SiftClient;
  let browser: Browser;
  let prefix: string;
  let apiKey: string;
  beforeAll(async () => {
    prefix = uniquePrefix('web-reconnect');
    apiKey = await createTestKey(prefix, 'tests', ['predict', 'batches']);
    api = await startApiProcess(await freePort(), { ...keyed, SIFT_KEY_PREFIX: prefix, SIFT_CHUNK_SIZE: '50', SIFT_LOG_LEVEL: 'warn' });
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: prefix, SIFT_WORKER_CONCURRENCY: '1' });
    client = new SiftClient(api.url, { apiKey });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser.close();
    await client.close();
    worker.resume();
    await worker.stop();
    await api.stop();
    await deletePrefix(prefix);
  });

  const batchOf = async (id: string): Promise<NonNullable<BatchQuery['batch']>> => (await client.request(BatchDocument, { id })).batch!;

  /** Rows of the batch recorded, read from Redis itself (the API may be down). */
  async function processedInRedis(id: string): Promise<number> {
    const redis = testRedis();
    try {
      return Number(await redis.hget(redisKeys(prefix).batch(id), 'processed'));
    } finally {
      redis.disconnect();
    }
  }

  /** The newest 300 finished rows as the API has them (index and label, newest first). */
  async function newestRows(id: string, processed: number): Promise<{ index: number; label: string }[]> {
    // Chunks finish in order or nearly (one at a time), so the newest are around `processed`.
    const offset = Math.max(0, processed - 700);
    const { batch } = await client.request(BatchResultsDocument, { id, offset, limit: 1000 });
    return batch!.results
      .map((row) => ({ index: row.index, label: row.prediction?.label ?? 'failed' }))
      .sort((a, b) => b.index - a.index)
      .slice(0, 300);
  }

  /** The page shows what the API says of the batch: status, counts, and its newest rows with their labels. */
  async function pageAgrees(page: Page, id: string): Promise<NonNullable<BatchQuery['batch']>> {
    const batch = await batchOf(id);
    const percent = Math.floor((100 * batch.processed) / batch.total);
    expect(await page.getByTestId('done').textContent()).toBe(`${count(batch.processed)} / ${count(batch.total)} rows (${percent}%)`);
    const stats = await page.locator('.stats').textContent();
    expect(stats).toContain(`${count(batch.cached)} cached`);
    expect(stats).toContain(`${count(batch.failed)} failed`);
    const newest = await newestRows(id, batch.processed);
    expect(await shownIndices(page)).toEqual(newest.map((row) => row.index));
    expect(await shownLabels(page)).toEqual(newest.map((row) => row.label));
    return batch;
  }

  it('says it is reconnecting, resumes from the row after its newest, and ends with the final status, counts and newest rows', async () => {
    const csv = `ref,text\n${Array.from({ length: ROWS }, (_, i) => `r${i},${i % 1000 === 999 ? '' : `page ${i} warm cold hot ${i % 17}`}`).join('\n')}\n`;
    worker.pause();
    const response = await fetch(`${api.url}/batches?idColumn=ref`, { method: 'POST', headers: { 'content-type': 'text/csv', authorization: `Bearer ${apiKey}` }, body: csv });
    const { id } = (await response.json()) as { id: string };
    const page = await withApiKey(browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' }), apiKey);
    try {
      const subscriptions = subscriptionVariables(page);
      const inits = connectionInits(page);
      await page.goto(`${api.url}/#/batch/${id}`);
      await page.getByTestId('status').filter({ hasText: /queued|running/i }).waitFor();
      // The worker runs in short slices and is frozen at each step, so the batch is still running at each.
      await worker.runUntil(async () => (await page.getByTestId('rows').locator('tr').count()) >= 300, 'the page to show 300 rows', { timeoutMs: 60_000 });

      // Killed mid-batch: the page says it is reconnecting; rows go on finishing meanwhile.
      expect(subscriptions).toEqual([{ id, fromRow: null }]);
      await api.kill();
      const requests = countGraphQLRequests(page);
      await page.getByTestId('reconnecting').waitFor({ timeout: 30_000 });
      expect(await page.getByTestId('reconnecting').textContent()).toBe('Connection lost; reconnecting…');
      const before = await processedInRedis(id);
      await worker.runUntil(async () => (await processedInRedis(id)) >= before + 1000, 'rows to finish while the API is down', { timeoutMs: 60_000 });

      // Back on the same port, the worker held so the batch stands still: once events flow again,
      // the page has the rows that finished while it was away (a subscription made again without
      // fromRow would never send them) and the counts, and no longer says it is reconnecting.
      try {
        await api.restart();
        const running = await batchOf(id);
        expect(running.status).toBe('RUNNING');
        expect(running.processed).toBeGreaterThanOrEqual(before + 1000);
        await page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: 60_000 });
        await eventually(async () => (await page.getByTestId('done').textContent()) === `${count(running.processed)} / ${count(ROWS)} rows (${Math.floor((100 * running.processed) / ROWS)}%)`, 30_000, 'the counts after reconnecting');
        const newest = (await newestRows(id, running.processed)).map((row) => row.index);
        expect(newest[0]).toBeGreaterThanOrEqual(before);
        await eventually(async () => JSON.stringify(await shownIndices(page)) === JSON.stringify(newest), 30_000, 'the rows that finished while the API was down');
        await pageAgrees(page, id);
        // It subscribed again from the row after the newest it held (which had finished before the
        // kill), and read no rows over HTTP: the rows that finished meanwhile came with the replay.
        const again = subscriptions.slice(1);
        expect(again.length).toBeGreaterThanOrEqual(1);
        const fromRow = again.at(-1)!.fromRow as number;
        expect(fromRow).toBeGreaterThanOrEqual(300);
        expect(fromRow).toBeLessThanOrEqual(before);
        expect(requests.named('BatchResults')).toBe(0);
        // Every socket, the ones made again after the restart too, carried the key.
        expect(inits.length).toBeGreaterThanOrEqual(subscriptions.length);
        expect(inits).toEqual(inits.map(() => ({ authorization: `Bearer ${apiKey}` })));
      } finally {
        worker.resume();
      }

      // Live again, to the end.
      await page.getByTestId('status').filter({ hasText: /completed/i }).waitFor({ timeout: 120_000 });
      expect(await page.getByTestId('reconnecting').count()).toBe(0);
      const batch = await pageAgrees(page, id);
      expect(batch).toMatchObject({ status: 'COMPLETED', processed: ROWS, failed: 30 });
      expect(await shownIndices(page)).toEqual(Array.from({ length: 300 }, (_, i) => ROWS - 1 - i));
      const expected = Object.fromEntries([...batch.labelCounts.map((c) => [c.label, c.count] as const), ['failed', batch.failed] as const]);
      expect(await chartCounts(page)).toEqual(expected);
    } finally {
      await page.close();
    }
  }, 240_000);
});
