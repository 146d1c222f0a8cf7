import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { ApiKeyStore } from '../../src/auth/api-key-store';
import { redisKeys } from '../../src/redis/keys';
import { createTestKey, eventually, freePort, startTestApi, type TestApi } from '../support/api';
import { startApiProcess } from '../support/api-process';
import { countGraphQLRequests, launchBrowser, SCREENSHOT_DIR, withApiKey } from '../support/browser';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' };

/** Every address the page asked for: requests and WebSockets. */
function requestedUrls(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('websocket', (socket) => urls.push(socket.url()));
  return urls;
}

/** The page's storage, read in the page: [name, value] pairs of sessionStorage and of localStorage. */
async function storage(page: Page): Promise<{ session: [string, string][]; local: [string, string][] }> {
  return page.evaluate('({ session: Object.entries(sessionStorage), local: Object.entries(localStorage) })') as Promise<{ session: [string, string][]; local: [string, string][] }>;
}

async function enterKey(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Use this key' }).click();
}

describe('the web page against a server that needs API keys', () => {
  let t: TestApi;
  let worker: WorkerProcess;
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_AUTH: 'keys', SIFT_CHUNK_SIZE: '20' });
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    browser = await launchBrowser();
    dir = mkdtempSync(path.join(os.tmpdir(), 'sift-web-keys-'));
  });
  afterAll(async () => {
    await browser.close();
    worker.resume();
    await worker.stop();
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks for a key, refuses a wrong one with the server\'s message, then labels, runs a batch live over the socket and downloads it; the key stays in sessionStorage, in no URL', async () => {
    const key = t.apiKey!;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const urls = requestedUrls(page);
    // What the page sends in each WebSocket's connection_init.
    const inits: string[] = [];
    page.on('websocket', (socket) => socket.on('framesent', ({ payload }) => String(payload).includes('connection_init') && inits.push(String(payload))));
    try {
      await page.goto(`${t.api.url}/`);
      await page.getByRole('heading', { level: 2, name: 'This server needs an API key' }).waitFor();
      expect(await page.getByTestId('key-refused').count()).toBe(0);
      expect(await page.getByText('An operator makes one with sift keys create').count()).toBe(1);
      expect(await page.getByLabel('API key').getAttribute('type')).toBe('password');
      // The field has the focus: paste and press Enter.
      expect(await page.evaluate('document.querySelector("sift-app").shadowRoot.querySelector("sift-key-prompt").shadowRoot.activeElement?.id')).toBe('api-key');
      expect(await page.getByRole('button', { name: 'Forget key' }).count()).toBe(0);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'key-prompt.png') });

      // A wrong key: refused with the server's words, forgotten, asked for again.
      await enterKey(page, `sift_0123456789abcdef_${'x'.repeat(43)}`);
      const refused = page.getByTestId('key-refused');
      await refused.waitFor();
      expect(await refused.textContent()).toBe('The key was refused: The API key is not valid (mistyped, or revoked).');
      expect((await storage(page)).session).toEqual([]);
      expect(await page.getByLabel('API key').inputValue()).toBe('');

      // The right one: the view comes back and labels a sentence.
      await enterKey(page, key);
      await page.getByLabel('Texts, one a line').fill('a great movie');
      await page.getByRole('button', { name: 'Label' }).click();
      await page.getByTestId('prediction').waitFor();
      expect(await page.getByTestId('label').textContent()).toBe('POSITIVE');
      expect(await page.getByRole('button', { name: 'Forget key' }).count()).toBe(1);

      // A batch: uploaded with the key; held queued until the page follows it, so its progress
      // can only reach the page over the (keyed) WebSocket.
      const texts = Array.from({ length: 60 }, (_, i) => (i % 2 ? `a great movie ${i}` : `an awful film ${i}`));
      const file = path.join(dir, 'keyed.csv');
      writeFileSync(file, `ref,text\n${texts.map((text, i) => `k${i},${text}`).join('\n')}\n`);
      worker.pause();
      await page.getByRole('link', { name: 'Run a batch' }).click();
      await page.getByLabel('CSV or JSON Lines file').setInputFiles(file);
      await page.getByLabel('Id column (optional)').selectOption('ref');
      await page.getByRole('button', { name: 'Upload and run' }).click();
      await page.getByTestId('status').filter({ hasText: /queued/i }).waitFor();
      await eventually(async () => inits.length > 0, 10_000, 'the page to open its WebSocket');
      worker.resume();
      await page.getByTestId('status').filter({ hasText: /completed/i }).waitFor({ timeout: 30_000 });
      expect(await page.getByTestId('done').textContent()).toBe('60 / 60 rows (100%)');
      await page.getByTestId('rows').locator('tr').nth(59).waitFor();
      expect(JSON.parse(inits[0]).payload).toEqual({ authorization: `Bearer ${key}` });
      const id = decodeURIComponent(page.url().split('/').pop()!);

      // The download, fetched with the key and saved from a blob: every row, in input order.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
      expect(download.suggestedFilename()).toBe(`${id}.csv`);
      expect(download.url()).toMatch(/^blob:/);
      const saved = path.join(dir, 'keyed-results.csv');
      await download.saveAs(saved);
      const rows = parse(readFileSync(saved, 'utf8'), { columns: true }) as Record<string, string>[];
      expect(rows.map((r) => [r.index, r.id, r.text, r.label])).toEqual(texts.map((text, i) => [String(i), `k${i}`, text, i % 2 ? 'POSITIVE' : 'NEGATIVE']));

      // Kept for the tab: a reload does not ask again.
      await page.reload();
      await page.getByTestId('status').filter({ hasText: /completed/i }).waitFor();
      expect(await page.getByLabel('API key').count()).toBe(0);

      // sessionStorage holds the key; localStorage and every URL the page asked for do not.
      const kept = await storage(page);
      expect(kept.session.map(([, value]) => value)).toEqual([key]);
      expect(JSON.stringify(kept.local)).not.toContain(key.slice(22));
      expect(urls.length).toBeGreaterThan(5);
      expect(urls.filter((url) => url.includes(key.slice(22)) || url.includes(key.slice(0, 21)))).toEqual([]);
    } finally {
      worker.resume();
      await page.close();
    }
  }, 90_000);

  it('"Forget key" forgets it and asks again; a key without the batches scope labels, and an upload says which scope it lacks', async () => {
    const predictOnly = await createTestKey(t.prefix, 'predict only', ['predict']);
    const page = await browser.newPage();
    try {
      await page.goto(`${t.api.url}/#/predict`);
      await enterKey(page, t.apiKey!);
      await page.getByLabel('Model').locator('option').first().waitFor({ state: 'attached' });
      await page.getByRole('button', { name: 'Forget key' }).click();
      await page.getByLabel('API key').waitFor();
      expect(await page.getByTestId('key-refused').count()).toBe(0);
      expect((await storage(page)).session).toEqual([]);
      expect(await page.getByRole('button', { name: 'Forget key' }).count()).toBe(0);

      await enterKey(page, predictOnly);
      await page.getByLabel('Texts, one a line').fill('an awful film');
      await page.getByRole('button', { name: 'Label' }).click();
      expect(await page.getByTestId('label').textContent()).toBe('NEGATIVE');
      const file = path.join(dir, 'scope.csv');
      writeFileSync(file, 'text\nhello\n');
      await page.getByRole('link', { name: 'Run a batch' }).click();
      await page.getByLabel('CSV or JSON Lines file').setInputFiles(file);
      await page.getByRole('button', { name: 'Upload and run' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toBe(
        'The API key "predict only" does not have the batches scope this needs; ask an operator for a key with it (sift keys create --scopes batches). To use another key, choose "Forget key" at the top of the page.',
      );
      expect(page.url()).toMatch(/#\/batch$/);
    } finally {
      await page.close();
    }
  });

  it('a key revoked while the page holds it: the next request is refused and the page asks again with the server\'s words', async () => {
    const redis = testRedis();
    const store = new ApiKeyStore(redis, redisKeys(t.prefix));
    const { key, info } = await store.create('soon revoked', ['predict', 'batches']);
    const page = await browser.newPage();
    try {
      await page.goto(`${t.api.url}/#/models`);
      await enterKey(page, key);
      await page.getByRole('cell', { name: 'tiny-hashed' }).waitFor();
      await store.revoke(info.id);
      // Servers trust a checked key for 2 s: look again until it is refused.
      await eventually(
        async () => {
          await page.getByRole('link', { name: 'Batches' }).click();
          await page.getByRole('link', { name: 'Models' }).click();
          return (await page.getByTestId('key-refused').count()) === 1;
        },
        15_000,
        'the revoked key to be refused',
      );
      expect(await page.getByTestId('key-refused').textContent()).toBe('The key was refused: The API key is not valid (mistyped, or revoked).');
      expect((await storage(page)).session).toEqual([]);
    } finally {
      redis.disconnect();
      await page.close();
    }
  }, 30_000);
});

describe('the web page following a batch when its key is revoked and the connection drops', () => {
  it("asks for a key again with the server's words when the socket is refused (4401), rather than reconnecting for ever", async () => {
    const prefix = uniquePrefix('web-keys-revoked');
    const redis = testRedis();
    const store = new ApiKeyStore(redis, redisKeys(prefix));
    const { key, info } = await store.create('revoked while watching', ['predict', 'batches']);
    // No worker: the batch stays queued, so the page keeps its subscription open.
    const api = await startApiProcess(await freePort(), { ...shared, SIFT_AUTH: 'keys', SIFT_KEY_PREFIX: prefix, SIFT_LOG_LEVEL: 'warn' });
    const browser = await launchBrowser();
    try {
      const response = await fetch(`${api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv', authorization: `Bearer ${key}` }, body: 'text\nwaiting\n' });
      const { id } = (await response.json()) as { id: string };
      const page = await withApiKey(browser.newPage(), key);
      let sockets = 0;
      page.on('websocket', () => sockets++);
      await page.goto(`${api.url}/#/batch/${encodeURIComponent(id)}`);
      await page.getByTestId('status').filter({ hasText: /queued/i }).waitFor();
      await eventually(async () => sockets === 1, 10_000, 'the page to subscribe');
      await store.revoke(info.id);
      // The API goes and comes back: the page's socket drops and it subscribes again, with the revoked key.
      const requests = countGraphQLRequests(page);
      await api.restart();
      const refused = page.getByTestId('key-refused');
      await refused.waitFor({ timeout: 30_000 });
      expect(await refused.textContent()).toBe('The key was refused: The API key is not valid (mistyped, or revoked).');
      // Refused on the socket: the page sent no request over HTTP meanwhile, and tries no more sockets.
      expect(requests.total()).toBe(0);
      const tried = sockets;
      expect(tried).toBeGreaterThanOrEqual(2);
      await page.waitForTimeout(3000);
      expect(sockets).toBe(tried);
      expect((await storage(page)).session).toEqual([]);
    } finally {
      await browser.close();
      await api.stop();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  }, 90_000);
});

describe('the web page against a server with auth off', () => {
  let t: TestApi;
  let worker: WorkerProcess;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestApi(shared);
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser.close();
    await worker.stop();
    await t.stop();
  });

  it('never asks for a key, offers none to forget, and downloads by the plain link', async () => {
    const response = await fetch(`${t.api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'text\na great movie\n' });
    const { id } = (await response.json()) as { id: string };
    const page = await browser.newPage({ acceptDownloads: true });
    try {
      await page.goto(`${t.api.url}/#/batch/${encodeURIComponent(id)}`);
      await page.getByTestId('status').filter({ hasText: /completed/i }).waitFor({ timeout: 30_000 });
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
      expect(download.url()).toBe(`${t.api.url}/batches/${id}/results.csv`);
      expect(await page.getByLabel('API key').count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Forget key' }).count()).toBe(0);
      expect((await storage(page)).session).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
