import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Browser, Locator, Page } from 'playwright-core';
import { BatchDocument } from '../../src/client/generated/graphql';
import { startTestApi, type TestApi } from '../support/api';
import { openUpload } from '../support/open-upload';
import { horizontalOverflow, launchBrowser, linesOfText, SCREENSHOT_DIR, withApiKey } from '../support/browser';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

// Every API here needs a key (SIFT_AUTH=keys): each page holds the test API's key from its first load (withApiKey).
const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' };
const keyed = { ...shared, SIFT_AUTH: 'keys' };

/** An API of the test's own with no worker (its batches stay queued), a browser and a folder for files, all cleaned up after. */
async function withQuietApi(run: (t: TestApi, browser: Browser, dir: string) => Promise<void>, env: Record<string, string> = {}): Promise<void> {
  const t = await startTestApi({ ...keyed, ...env });
  const browser = await launchBrowser();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sift-web-'));
  try {
    await run(t, browser, dir);
  } finally {
    await browser.close();
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the web app in a real browser', () => {
  let t: TestApi;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    t = await startTestApi(keyed);
    browser = await launchBrowser();
  });
  beforeEach(async () => {
    page = await withApiKey(browser.newPage({ viewport: { width: 1280, height: 800 } }), t.apiKey);
  });
  afterEach(() => page.close());
  afterAll(async () => {
    await browser.close();
    await t.stop();
  });

  it('is served at / by the API, and labels a sentence, then says the same sentence came from the cache', async () => {
    const sentence = `a great movie, seen ${Date.now()}`;
    await page.goto(`${t.api.url}/`);
    await page.getByLabel('Texts, one a line').fill(sentence);
    await page.getByRole('button', { name: 'Label' }).click();
    const result = page.getByTestId('prediction');
    await result.waitFor();
    expect(await result.getByTestId('label').textContent()).toBe('POSITIVE');
    expect(await result.getByTestId('cached').count()).toBe(0);
    expect(await result.getByRole('img').count()).toBe(2);

    await page.getByRole('button', { name: 'Label' }).click();
    await result.getByTestId('cached').waitFor();
    expect(await result.getByTestId('label').textContent()).toBe('POSITIVE');
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'predict-desktop.png'), fullPage: true });
  });

  it('preselects the default model and lists the models, also on a phone-width screen', async () => {
    await page.goto(`${t.api.url}/`);
    await page.getByLabel('Model').locator('option').first().waitFor({ state: 'attached' });
    expect(await page.getByLabel('Model').inputValue()).toBe('tiny-transformer');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByRole('cell', { name: 'tiny-hashed' }).waitFor();
    expect(await page.getByRole('row').count()).toBe(3);
    expect(page.url()).toMatch(/#\/models$/);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'models-phone.png'), fullPage: true });
  });

  it('works with the keyboard alone: tab to the text, type, tab to the button, press Enter', async () => {
    await page.goto(`${t.api.url}/`);
    await page.getByLabel('Model').locator('option').first().waitFor({ state: 'attached' });
    await page.getByLabel('Texts, one a line').focus();
    await page.keyboard.type('a great movie\nan awful film');
    await page.keyboard.press('Tab'); // the model
    await page.keyboard.press('Tab'); // the button
    await page.keyboard.press('Enter');
    await page.getByTestId('prediction').nth(1).waitFor();
    expect(await page.getByTestId('label').allTextContents()).toEqual(['POSITIVE', 'NEGATIVE']);
  });

  it('says what to do when the text is empty, where the user is looking', async () => {
    await page.goto(`${t.api.url}/#/predict`);
    await page.getByRole('button', { name: 'Label' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('Type a text to label');
  });
});

describe('batches in the web app, with a real worker', () => {
  let t: TestApi;
  let worker: WorkerProcess;
  let browser: Browser;
  let page: Page;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApi({ ...keyed, SIFT_CHUNK_SIZE: '25' });
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    browser = await launchBrowser();
    dir = mkdtempSync(path.join(os.tmpdir(), 'sift-web-'));
  });
  beforeEach(async () => {
    page = await withApiKey(browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true }), t.apiKey);
  });
  afterEach(() => page.close());
  afterAll(async () => {
    await browser.close();
    await worker.stop();
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads a CSV, shows progress reaching 100% with rows appearing and a chart, and downloads every row in input order', async () => {
    const texts = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? `a great movie ${i}` : `an awful film ${i}`));
    const file = path.join(dir, 'reviews.csv');
    writeFileSync(file, `ref,text\n${texts.map((text, i) => `r${i},${text}`).join('\n')}\n`);
    await page.goto(`${t.api.url}/#/batch`);
    await page.getByLabel('CSV or JSON Lines file').setInputFiles(file);
    expect(await page.getByLabel('Text column').inputValue()).toBe('text');
    await page.getByLabel('Id column (optional)').selectOption('ref');
    expect(await page.getByLabel('Priority').inputValue()).toBe('NORMAL');
    await page.getByLabel('Priority').selectOption('HIGH');
    await page.getByRole('button', { name: 'Upload and run' }).click();
    await page.getByTestId('status').filter({ hasText: 'COMPLETED' }).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('done').textContent()).toBe('300 / 300 rows (100%)');
    expect(await page.getByTestId('priority').textContent()).toBe('high');
    const uploaded = page.url().split('/').pop()!;
    expect((await t.client.request(BatchDocument, { id: uploaded })).batch?.priority).toBe('HIGH');
    expect(page.url()).toMatch(/#\/batch\/[\w-]+$/);
    // Finished rows show, whether they came in events or (finished before the page subscribed) from the results.
    await page.getByTestId('rows').locator('tr').nth(299).waitFor();
    await page.getByTestId('label-chart').waitFor();
    expect(await page.getByTestId('label-chart').getByRole('img').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('100'), expect.stringContaining('200')]));
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'batch-desktop.png') });

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
    const saved = path.join(dir, 'results.csv');
    await download.saveAs(saved);
    const rows = parse(readFileSync(saved, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.index, r.id, r.text])).toEqual(texts.map((text, i) => [String(i), `r${i}`, text]));
    expect(rows.every((r, i) => r.label === (i % 3 === 0 ? 'POSITIVE' : 'NEGATIVE'))).toBe(true);

    // The batch's link, opened again later, shows the same batch; the list links to it.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.getByTestId('status').filter({ hasText: 'COMPLETED' }).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'batch-phone.png') });
    const id = page.url().split('/').pop()!;
    await page.getByRole('link', { name: 'Batches' }).click();
    await page.getByRole('link', { name: id }).click();
    await page.getByTestId('status').filter({ hasText: 'COMPLETED' }).waitFor();
  }, 60_000);

  it('takes a dropped JSON Lines file, and pages back through rows older than the newest 300', async () => {
    const lines = Array.from({ length: 700 }, (_, i) => JSON.stringify({ n: i, text: `a great movie ${i}` })).join('\n');
    await page.goto(`${t.api.url}/#/batch`);
    // (A string, run in the page: the tests compile without DOM types.)
    const dataTransfer = await page.evaluateHandle(`(() => { const dt = new DataTransfer(); dt.items.add(new File([${JSON.stringify(lines)}], 'dropped.jsonl')); return dt; })()`);
    await page.locator('sift-batch-upload form').dispatchEvent('drop', { dataTransfer });
    expect(await page.getByLabel('Text column').inputValue()).toBe('text');
    await page.getByRole('button', { name: 'Upload and run' }).click();
    await page.getByTestId('status').filter({ hasText: 'COMPLETED' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('rows').locator('tr').nth(299).waitFor();
    expect(await page.getByTestId('rows').locator('tr').first().locator('td').first().textContent()).toBe('699');
    await page.getByRole('button', { name: 'Earlier rows' }).click();
    await page.getByTestId('row-range').filter({ hasText: 'rows 100 to 399 in input order' }).waitFor();
    expect(await page.getByTestId('rows').locator('tr').first().locator('td').first().textContent()).toBe('100');
    await page.getByRole('button', { name: 'Earlier rows' }).click();
    await page.getByTestId('row-range').filter({ hasText: 'rows 0 to 299' }).waitFor();
    expect(await page.getByRole('button', { name: 'Earlier rows' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Later rows' }).click();
    await page.getByTestId('row-range').filter({ hasText: 'rows 300 to 599' }).waitFor();
    await page.getByRole('button', { name: 'Later rows' }).click();
    await page.getByTestId('row-range').filter({ hasText: 'the last 300 finished rows' }).waitFor();
  }, 60_000);

  it('shows the server\'s message for a CSV without the chosen column, and for a malformed one', async () => {
    const file = path.join(dir, 'wrong.csv');
    writeFileSync(file, 'id,body\n1,hello\n');
    await page.goto(`${t.api.url}/#/batch`);
    await page.getByLabel('CSV or JSON Lines file').setInputFiles(file);
    // Choose a column the file does not have, as a stale form or another file's column would.
    // (Runs in the page; the tests compile without DOM types, hence the loose typing.)
    await page.getByLabel('Text column').evaluate((select: any) => {
      const option = select.ownerDocument.createElement('option');
      option.value = option.textContent = 'text';
      select.append(option);
      select.value = 'text';
      select.dispatchEvent(new select.ownerDocument.defaultView.Event('change'));
    });
    await page.getByRole('button', { name: 'Upload and run' }).click();
    // The server's words, without its option's name (textColumn): the page names its own field.
    expect(await page.getByRole('alert').textContent()).toBe('The header has no column "text" for the text; the columns found are "id", "body". Choose the column that holds the texts under "Text column".');

    const malformed = path.join(dir, 'malformed.csv');
    writeFileSync(malformed, 'text,id\nfine,1\n"unclosed,2\n');
    await page.getByLabel('CSV or JSON Lines file').setInputFiles(malformed);
    await page.getByRole('button', { name: 'Upload and run' }).click();
    await page.getByRole('alert').filter({ hasText: 'line 3' }).waitFor();
    expect(page.url()).toMatch(/#\/batch$/);
  });
});

describe('every page, at desktop and phone width', () => {
  it('renders each view with its heading, never wider than the screen, and saves a screenshot of each', () =>
    withQuietApi(async (t, browser) => {
      const { batchId } = await fetch(`${t.api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv', ...t.headers }, body: 'text\nqueued\n' })
        .then((r) => r.json() as Promise<{ id: string }>)
        .then((b) => ({ batchId: b.id }));
      // Each view, and what shows once it has loaded what it reads.
      const views: [string, string, string, (page: Page) => Locator][] = [
        ['predict', '#/predict', 'Label text', (page) => page.getByLabel('Model').locator('option').first()],
        ['batch-upload', '#/batch', 'Run a batch', (page) => page.getByLabel('Model').locator('option').first()],
        ['batch-live', `#/batch/${batchId}`, `Batch ${batchId}`, (page) => page.getByTestId('row-range')],
        ['batch-missing', '#/batch/no-such-batch', 'No batch with id no-such-batch', (page) => page.getByRole('link', { name: 'See all batches' })],
        ['batches', '#/batches', 'Batches', (page) => page.getByRole('link', { name: batchId })],
        ['models', '#/models', 'Models', (page) => page.getByRole('cell', { name: 'tiny-hashed' })],
      ];
      for (const [width, height, device] of [[1280, 800, 'desktop'], [390, 844, 'phone']] as const) {
        const page = await withApiKey(browser.newPage({ viewport: { width, height } }), t.apiKey);
        for (const [name, hash, heading, loaded] of views) {
          await page.goto(`${t.api.url}/${hash}`);
          await page.getByRole('heading', { level: 2, name: heading }).waitFor();
          await loaded(page).waitFor({ state: 'attached' });
          // Nothing wider than the screen: a phone never scrolls sideways.
          expect(await horizontalOverflow(page)).toBe(0);
          // Each label of the menu on one line ("Run a batch" never splits in two).
          for (const link of await page.getByRole('navigation', { name: 'Views' }).getByRole('link').all()) expect(await linesOfText(link)).toBe(1);
          await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}-${device}.png`) });
        }
        await page.close();
      }
      // The batches view filters by status.
      const page = await withApiKey(browser.newPage(), t.apiKey);
      await page.goto(`${t.api.url}/#/batches`);
      await page.getByRole('link', { name: batchId }).waitFor();
      await page.getByLabel('Status').selectOption('COMPLETED');
      await page.getByText('No batches match the status “completed”.').waitFor();
      expect(await page.getByText('No batches yet').count()).toBe(0);
      expect(await page.getByRole('link', { name: batchId }).count()).toBe(0);
      await page.getByLabel('Status').selectOption('QUEUED');
      await page.getByRole('link', { name: batchId }).waitFor();
      await page.getByLabel('Status').selectOption('RUNNING');
      await page.getByRole('button', { name: 'Show all batches' }).click();
      await page.getByRole('link', { name: batchId }).waitFor();
      expect(await page.getByLabel('Status').inputValue()).toBe('');
    }), 60_000);
});

describe('the web app when things go wrong', () => {
  it('says the server is not answering, and refuses a file that is neither CSV nor JSON Lines', () =>
    withQuietApi(async (t, browser, dir) => {
      const page = await withApiKey(browser.newPage(), t.apiKey);
      await page.goto(`${t.api.url}/#/batch`);
      const notes = path.join(dir, 'notes.txt');
      writeFileSync(notes, 'hello\n');
      await page.getByLabel('CSV or JSON Lines file').setInputFiles(notes);
      expect(await page.getByRole('alert').textContent()).toBe('notes.txt is neither .csv nor .jsonl; choose a CSV file with a header row, or JSON Lines.');

      await page.goto(`${t.api.url}/#/predict`);
      await page.getByLabel('Model').locator('option').first().waitFor({ state: 'attached' });
      await t.api.close();
      await page.getByLabel('Texts, one a line').fill('anyone there?');
      await page.getByRole('button', { name: 'Label' }).click();
      await page.getByRole('alert').filter({ hasText: 'The Sift server is not answering' }).waitFor();
    }), 60_000);

  it('says so when its key already has as many uploads in progress as the server reads at once (TOO_MANY_UPLOADS)', () =>
    withQuietApi(
      async (t, browser, dir) => {
        // Another upload of the same key, held open while the server reads it, takes the key's one slot.
        const held = openUpload(t, t.apiKey!);
        expect(await held.reading).toBe('reading');
        const file = path.join(dir, 'refused.csv');
        writeFileSync(file, 'text\na fine text\n');
        const page = await withApiKey(browser.newPage(), t.apiKey);
        await page.goto(`${t.api.url}/#/batch`);
        await page.getByLabel('CSV or JSON Lines file').setInputFiles(file);
        await page.getByRole('button', { name: 'Upload and run' }).click();
        await page.getByRole('alert').filter({ hasText: 'as many uploads' }).waitFor();
        expect(await page.getByRole('alert').textContent()).toBe("The server is reading as many uploads as it takes at once (yours, or everyone's); run the batch again in a few seconds.");
        expect(page.url()).toMatch(/#\/batch$/);
        expect((await held.finish()).status).toBe(202);
        // Once the other is read, the same click runs the batch.
        await page.getByRole('button', { name: 'Upload and run' }).click();
        await page.getByTestId('status').filter({ hasText: 'QUEUED' }).waitFor();
      },
      { SIFT_MAX_UPLOADS_PER_KEY: '1' },
    ), 60_000);
});

describe('cancelling a batch in the web app', () => {
  // No worker: the batch waits in the queue until the click.
  it('asks first, then stops a batch that has not finished: the status becomes CANCELLED', () =>
    withQuietApi(async (t, browser, dir) => {
      const file = path.join(dir, 'queued.csv');
      writeFileSync(file, `text\n${Array.from({ length: 50 }, (_, i) => `queued ${i}`).join('\n')}\n`);
      const page = await withApiKey(browser.newPage(), t.apiKey);
      await page.goto(`${t.api.url}/#/batch`);
      await page.getByLabel('CSV or JSON Lines file').setInputFiles(file);
      await page.getByRole('button', { name: 'Upload and run' }).click();
      await page.getByTestId('status').filter({ hasText: 'QUEUED' }).waitFor();
      const id = decodeURIComponent(page.url().split('/').pop()!);
      const status = async () => (await t.client.request(BatchDocument, { id })).batch?.status;
      // A click alone cancels nothing: the page asks first, and "Keep it running" leaves it be.
      await page.getByRole('button', { name: 'Cancel batch' }).click();
      const confirmation = page.getByRole('alertdialog', { name: 'Cancel the batch?' });
      await confirmation.waitFor();
      expect(await confirmation.textContent()).toContain('The 50 rows not labelled yet will not be.');
      await confirmation.getByRole('button', { name: 'Keep it running' }).click();
      await confirmation.waitFor({ state: 'detached' });
      expect(await status()).toBe('QUEUED');
      expect(await page.getByTestId('status').textContent()).toMatch(/queued/i);
      // Escape answers "keep it running" too.
      await page.getByRole('button', { name: 'Cancel batch' }).click();
      await confirmation.waitFor();
      await page.keyboard.press('Escape');
      await confirmation.waitFor({ state: 'detached' });
      expect(await status()).toBe('QUEUED');
      await page.getByRole('button', { name: 'Cancel batch' }).click();
      await confirmation.getByRole('button', { name: 'Yes, cancel the batch' }).click();
      await page.getByTestId('status').filter({ hasText: 'CANCELLED' }).waitFor();
      expect(await status()).toBe('CANCELLED');
      expect(await page.getByRole('button', { name: 'Cancel batch' }).count()).toBe(0);
    }), 60_000);
});
