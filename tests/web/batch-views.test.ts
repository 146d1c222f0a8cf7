import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { BatchDocument, BatchResultsDocument } from '../../src/client/generated/graphql';
import { eventually, startTestApi, type TestApi } from '../support/api';
import { finished } from '../support/batches';
import { computedStyle, countGraphQLRequests, horizontalOverflow, launchBrowser, linesOfText, linesOfWord, luminance, renderedWidth, SCREENSHOT_DIR, withApiKey } from '../support/browser';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

// Every API here needs a key (SIFT_AUTH=keys): each page holds the test API's key from its first load (withApiKey).
const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' };
const keyed = { ...shared, SIFT_AUTH: 'keys' };

/** POST /batches with a CSV body, as a script or the CLI would; returns the new batch's id. */
async function submitCsv(t: TestApi, csv: string, query = ''): Promise<string> {
  const response = await fetch(`${t.api.url}/batches${query}`, { method: 'POST', headers: { 'content-type': 'text/csv', ...t.headers }, body: csv });
  const body = (await response.json()) as { id?: string };
  if (!body.id) throw new Error(`POST /batches answered ${response.status}: ${JSON.stringify(body)}`);
  return body.id;
}

const batchOf = async (t: TestApi, id: string) => (await t.client.request(BatchDocument, { id })).batch!;

/** The first cell (the row's index) of each row the table shows, as numbers. */
async function shownIndices(page: Page): Promise<number[]> {
  return (await page.getByTestId('rows').locator('tr > td:first-child').allTextContents()).map(Number);
}

/** Rows per label as the chart draws them, from each bar's accessible name ("label: n rows"). */
async function chartCounts(page: Page): Promise<Record<string, number>> {
  const names = await page.getByTestId('label-chart').getByRole('img').evaluateAll((bars: any[]) => bars.map((bar) => bar.getAttribute('aria-label') as string));
  return Object.fromEntries(names.map((name) => /^(.*): (\d+) rows$/.exec(name)!.slice(1)).map(([label, n]) => [label, Number(n)]));
}

// A word long enough that a squeezed column would break it, and an id longer than its column.
const LONG_WORD = 'incomprehensibilities';
const LONG_TEXT = `Some will call the plot's ${LONG_WORD} a great movie's charm, others an awful film's excuse; either way it runs for three hours and the ending is worth staying for.`;
const LONG_ID = 'review-0049999-from-the-spring-survey-export';

describe('a finished batch of 50,000 rows in the web page', () => {
  let t: TestApi;
  let worker: WorkerProcess;
  let browser: Browser;
  let id: string;
  beforeAll(async () => {
    t = await startTestApi({ ...keyed, SIFT_CHUNK_SIZE: '1000' });
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    browser = await launchBrowser();
    const rows = Array.from({ length: 50_000 }, (_, i) => {
      if (i === 49_999) return `${LONG_ID},"${LONG_TEXT}"`;
      if (i % 100 === 7) return `r${i},`; // an empty text: the row fails
      return `r${i},${i % 3 === 0 ? 'a great movie' : 'an awful film'} ${i % 50}`;
    });
    id = await submitCsv(t, `ref,text\n${rows.join('\n')}\n`, '?idColumn=ref');
    await finished(t.client, id);
  }, 120_000);
  afterAll(async () => {
    await browser.close();
    await worker.stop();
    await t.stop();
  });

  it("draws rows per label from the server's counts in a few requests, never reading every row", async () => {
    const batch = await batchOf(t, id);
    expect(batch).toMatchObject({ status: 'COMPLETED', total: 50_000, failed: 500 });
    const page = await withApiKey(browser.newPage({ viewport: { width: 1280, height: 900 } }), t.apiKey);
    try {
      const requests = countGraphQLRequests(page);
      await page.goto(`${t.api.url}/#/batch/${id}`);
      await page.getByTestId('label-chart').waitFor();
      await page.getByTestId('rows').locator('tr').nth(299).waitFor();
      // The chart is the server's labelCounts, with the failed rows beside them.
      const expected = Object.fromEntries([...batch.labelCounts.map((c) => [c.label, c.count] as const), ['failed', batch.failed] as const]);
      expect(await chartCounts(page)).toEqual(expected);
      expect(expected.POSITIVE + expected.NEGATIVE + expected.failed).toBe(50_000);
      // Let anything late arrive before counting.
      await page.waitForTimeout(500);
      expect(requests.total()).toBeLessThanOrEqual(10);
      expect(requests.named('BatchResults')).toBeLessThanOrEqual(2);
      expect(await shownIndices(page)).toEqual(Array.from({ length: 300 }, (_, i) => 49_999 - i));
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'batch-50k-desktop.png') });
    } finally {
      await page.close();
    }
  });

  it('keeps the text readable and nothing wider than the screen, at 1280 and at 390 px', async () => {
    for (const [width, height] of [[1280, 900], [390, 844]] as const) {
      const page = await withApiKey(browser.newPage({ viewport: { width, height } }), t.apiKey);
      try {
        await page.goto(`${t.api.url}/#/batch/${id}`);
        const row = page.getByTestId('rows').locator('tr').first();
        await row.waitFor();
        expect(await horizontalOverflow(page)).toBe(0);
        const text = row.locator('td.text');
        expect(await text.textContent()).toBe(LONG_TEXT);
        // The text has the room: at least 40% of the window, and its long word is drawn whole.
        expect(await renderedWidth(text)).toBeGreaterThanOrEqual(0.4 * width);
        expect(await linesOfWord(text, LONG_WORD)).toBe(1);
        // The long id stays on one line (cut with an ellipsis), and so does the batch id in the heading.
        expect(await linesOfText(row.locator('td.rid .id'))).toBe(1);
        expect(await linesOfText(page.getByRole('heading', { level: 2 }).locator('code'))).toBe(1);
        // A failed row says why under its text, where a phone shows it too.
        const failed = page.getByTestId('rows').locator('tr', { hasText: 'r49707' });
        expect(await failed.locator('td.label').textContent()).toBe('failed');
        expect(await failed.locator('.row-error').isVisible()).toBe(true);
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, `batch-50k-${width}.png`) });
      } finally {
        await page.close();
      }
    }
  });

  it('renders dark when the system asks for it', async () => {
    const page = await withApiKey(browser.newPage({ viewport: { width: 1280, height: 900 } }), t.apiKey);
    try {
      await page.goto(`${t.api.url}/#/batch/${id}`);
      await page.getByTestId('label-chart').waitFor();
      const app = page.locator('sift-app');
      expect(luminance(await computedStyle(app, 'background-color'))).toBeGreaterThan(0.9);
      await page.emulateMedia({ colorScheme: 'dark' });
      await eventually(async () => luminance(await computedStyle(app, 'background-color')) < 0.05, 5000, 'a dark background');
      // Light text on it, and the status badge and the text column follow.
      expect(luminance(await computedStyle(page.getByTestId('rows').locator('td.text').first(), 'color'))).toBeGreaterThan(0.6);
      expect(luminance(await computedStyle(page.getByTestId('status'), 'background-color'))).toBeLessThan(0.1);
      expect(await horizontalOverflow(page)).toBe(0);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'batch-dark.png') });
    } finally {
      await page.close();
    }
  });

  it('copies the batch id with one click', async () => {
    const context = await withApiKey(browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] }), t.apiKey);
    const page = await context.newPage();
    try {
      await page.goto(`${t.api.url}/#/batch/${id}`);
      const copy = page.getByRole('button', { name: 'Copy batch id' });
      await copy.click();
      await page.getByRole('button', { name: 'Copy batch id' }).filter({ hasText: 'Copied' }).waitFor();
      expect(await page.evaluate('navigator.clipboard.readText()')).toBe(id);
    } finally {
      await context.close();
    }
  });
});

describe('"Earlier rows" on a batch that has not finished', () => {
  let t: TestApi;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestApi({ ...keyed, SIFT_CHUNK_SIZE: '100' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser.close();
    await t.stop();
  });

  /** Every finished row's index below `end`, read from the API. */
  async function finishedIndices(id: string, end: number): Promise<number[]> {
    const indices: number[] = [];
    for (let offset = 0; offset < end; offset += 1000) {
      indices.push(...(await t.client.request(BatchResultsDocument, { id, offset, limit: 1000 })).batch!.results.map((r) => r.index));
    }
    return indices;
  }

  /** What the table should show after "Earlier rows" from a first shown index `first`. */
  function earlierPage(done: number[], first: number): number[] {
    const start = Math.max(0, first - 300);
    return done.filter((i) => i >= start && i < start + 300);
  }

  it('pages back from the rows finished, while it runs with its worker gone, and once it is cancelled', async () => {
    const total = 60_000;
    const id = await submitCsv(t, `text\n${Array.from({ length: total }, (_, i) => `${i % 2 ? 'a good movie' : 'a bad movie'} ${i % 40}`).join('\n')}\n`);
    // One chunk at a time, stopped part way: the batch stays RUNNING with its first rows finished.
    const worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix, SIFT_WORKER_CONCURRENCY: '1' });
    await worker.runUntil(async () => (await batchOf(t, id)).processed >= 2000, 'rows to finish');
    expect(await worker.stop()).toBe(0);
    const batch = await batchOf(t, id);
    expect(batch.status).toBe('RUNNING');
    expect(batch.processed).toBeLessThan(total);
    const done = await finishedIndices(id, batch.processed + 1000);
    expect(done.length).toBe(batch.processed);
    const newest = [...done].sort((a, b) => b - a).slice(0, 300);

    const page = await withApiKey(browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' }), t.apiKey);
    try {
      const check = async (state: RegExp) => {
        await page.getByTestId('status').filter({ hasText: state }).waitFor();
        // The newest finished rows, not the last rows of the input (which have not run).
        await page.getByTestId('rows').locator('tr').nth(299).waitFor();
        expect(await shownIndices(page)).toEqual(newest);
        expect(await page.getByTestId('row-range').textContent()).toContain('the last 300 finished rows');
        let first = newest[newest.length - 1];
        for (let step = 0; step < 2; step++) {
          const expected = earlierPage(done, first);
          expect(expected.length).toBeGreaterThan(0);
          await page.getByRole('button', { name: 'Earlier rows' }).click();
          await page.getByTestId('row-range').filter({ hasText: `rows ${expected[0]} to ${expected[expected.length - 1]} in input order` }).waitFor();
          expect(await shownIndices(page)).toEqual(expected);
          first = expected[0];
        }
        await page.getByRole('button', { name: 'Newest rows' }).click();
        await page.getByTestId('row-range').filter({ hasText: 'the last 300 finished rows' }).waitFor();
        expect(await shownIndices(page)).toEqual(newest);
      };
      await page.goto(`${t.api.url}/#/batch/${id}`);
      await check(/running/i);
      expect(await page.getByTestId('done').textContent()).toBe(`${batch.processed.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} rows (${Math.floor((100 * batch.processed) / total)}%)`);

      await page.getByRole('button', { name: 'Cancel batch' }).click();
      await page.getByRole('button', { name: 'Yes, cancel the batch' }).click();
      await page.getByTestId('status').filter({ hasText: /cancelled/i }).waitFor();
      expect((await batchOf(t, id)).status).toBe('CANCELLED');
      // Opened again, the cancelled batch shows the same finished rows.
      await page.reload();
      await check(/cancelled/i);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'batch-cancelled-part-way.png') });
    } finally {
      await page.close();
    }
  }, 90_000);
});

describe('the web page, batches and their errors', () => {
  let t: TestApi;
  let worker: WorkerProcess;
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApi({ ...keyed, SIFT_CHUNK_SIZE: '50' });
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    browser = await launchBrowser();
    dir = mkdtempSync(path.join(os.tmpdir(), 'sift-web-'));
  });
  afterAll(async () => {
    await browser.close();
    await worker.stop();
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says there is no batch with an unknown id, links back, and does not connect', async () => {
    const page = await withApiKey(browser.newPage(), t.apiKey);
    try {
      let sockets = 0;
      page.on('websocket', () => sockets++);
      await page.goto(`${t.api.url}/#/batch/no-such-batch`);
      await page.getByRole('heading', { level: 2, name: 'No batch with id no-such-batch' }).waitFor();
      await page.waitForTimeout(1000);
      expect(sockets).toBe(0);
      expect(await page.getByText('Connecting').count()).toBe(0);
      expect(await page.getByRole('alert').count()).toBe(0);
      await page.getByRole('link', { name: 'See all batches' }).click();
      await page.getByRole('heading', { level: 2, name: 'Batches' }).waitFor();
      expect(page.url()).toMatch(/#\/batches$/);
    } finally {
      await page.close();
    }
  });

  it('runs a batch with the model chosen, the default preselected', async () => {
    const file = path.join(dir, 'weather.csv');
    writeFileSync(file, `text\n${Array.from({ length: 120 }, (_, i) => `warm day ${i}`).join('\n')}\n`);
    const page = await withApiKey(browser.newPage({ viewport: { width: 1280, height: 900 } }), t.apiKey);
    try {
      await page.goto(`${t.api.url}/#/batch`);
      const model = page.getByLabel('Model');
      await model.locator('option').nth(1).waitFor({ state: 'attached' });
      expect(await model.inputValue()).toBe('tiny-transformer');
      await page.getByLabel('CSV or JSON Lines file').setInputFiles(file);
      await model.selectOption('tiny-hashed');
      await page.getByRole('button', { name: 'Upload and run' }).click();
      await page.getByTestId('status').filter({ hasText: /completed/i }).waitFor({ timeout: 30_000 });
      const id = decodeURIComponent(page.url().split('/').pop()!);
      const batch = await batchOf(t, id);
      expect(batch.model).toBe('tiny-hashed');
      expect(await page.getByTestId('model').textContent()).toBe('tiny-hashed');
      // The chart has the chosen model's labels.
      expect(Object.keys(await chartCounts(page))).toEqual(['cold', 'warm', 'hot']);
      // A finished batch says when it was submitted and finished, and how long it took.
      const times = (await page.getByTestId('times').textContent())!.replace(/\s+/g, ' ');
      expect(times).toMatch(/Submitted \S*\d.* Finished \S*\d.* Took /);
      expect(await page.getByTestId('elapsed').textContent()).toMatch(/^Took \d+(\.\d)? (ms|s)$|^Took \d+ min \d\d s$/);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('lists batches with their model, submission time and duration, and shows a new one without a reload', async () => {
    const page = await withApiKey(browser.newPage({ viewport: { width: 1280, height: 900 } }), t.apiKey);
    try {
      const first = await submitCsv(t, 'text\nhot day\n', '?model=tiny-hashed');
      await finished(t.client, first);
      await page.goto(`${t.api.url}/#/batches`);
      const row = page.getByTestId('batches').locator('tr', { hasText: first });
      await row.waitFor();
      expect(await row.locator('td.model').textContent()).toBe('tiny-hashed');
      expect(await row.locator('td.status').textContent()).toMatch(/completed/i);
      expect(await row.locator('td.started time').getAttribute('datetime')).toBe((await batchOf(t, first)).createdAt);
      expect(await row.locator('td.took').textContent()).toMatch(/^\d+(\.\d)? (ms|s)$/);
      // Submitted elsewhere (a script, the CLI) while the list is open: it shows up by itself.
      const second = await submitCsv(t, 'text\ncold day\n');
      await page.getByRole('link', { name: second }).waitFor({ timeout: 10_000 });
      await page.getByTestId('batches').locator('tr', { hasText: second }).locator('td.status').filter({ hasText: /completed/i }).waitFor({ timeout: 10_000 });
      // On a phone each batch is a card: the id on one line, nothing wider than the screen.
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await horizontalOverflow(page)).toBe(0);
      for (const id of [first, second]) expect(await linesOfText(page.getByRole('link', { name: id }))).toBe(1);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('shows predictions readably on a phone: long words whole, nothing wider than the screen', async () => {
    const page = await withApiKey(browser.newPage({ viewport: { width: 390, height: 844 } }), t.apiKey);
    try {
      await page.goto(`${t.api.url}/#/predict`);
      await page.getByLabel('Model').locator('option').first().waitFor({ state: 'attached' });
      await page.getByLabel('Texts, one a line').fill(`${LONG_TEXT}\nthe movie was good`);
      await page.getByRole('button', { name: 'Label' }).click();
      const text = page.getByTestId('prediction').first().locator('.text');
      await text.waitFor();
      expect(await horizontalOverflow(page)).toBe(0);
      expect(await renderedWidth(text)).toBeGreaterThanOrEqual(0.7 * 390);
      expect(await linesOfWord(text, LONG_WORD)).toBe(1);
    } finally {
      await page.close();
    }
  });

  it("words errors as the page's user knows the input, without the API's field names", async () => {
    const page = await withApiKey(browser.newPage(), t.apiKey);
    try {
      await page.goto(`${t.api.url}/#/predict`);
      await page.getByLabel('Model').locator('option').first().waitFor({ state: 'attached' });
      // Line 3 (after a blank line) is too long for the default model (500 characters).
      await page.getByLabel('Texts, one a line').fill(`a good movie\n\n${'long '.repeat(120)}`);
      await page.getByRole('button', { name: 'Label' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toBe('Line 3 is longer than 500 characters, the most the model tiny-transformer reads. Shorten it or split it over several lines.');

      // An upload whose id column holds a text far longer than an id: the page names the row and the field to change.
      const file = path.join(dir, 'long-ids.csv');
      writeFileSync(file, `ref,text\nr1,a good movie\n${'x'.repeat(1001)},a bad movie\n`);
      await page.goto(`${t.api.url}/#/batch`);
      await page.getByLabel('CSV or JSON Lines file').setInputFiles(file);
      await page.getByLabel('Id column (optional)').selectOption('ref');
      await page.getByRole('button', { name: 'Upload and run' }).click();
      const refused = page.getByRole('alert');
      await refused.filter({ hasText: 'id' }).waitFor();
      expect(await refused.textContent()).toBe('Row 2 of the file has an id longer than 1,000 characters. Choose another "Id column" (or none), or shorten the ids.');
    } finally {
      await page.close();
    }
  });
});
