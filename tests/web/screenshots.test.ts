import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { BatchDocument } from '../../src/client/generated/graphql';
import { startTestApi, type TestApi } from '../support/api';
import { finished } from '../support/batches';
import { horizontalOverflow, launchBrowser, SCREENSHOT_DIR } from '../support/browser';
import { BUNDLED_MODELS_DIR, PROJECT_ROOT } from '../support/paths';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

/**
 * The web page as a user sees it: an API and a worker process on the bundled models (sentiment,
 * question-type), a batch of examples/reviews.csv uploaded through the page. Saves the README's
 * screenshots, to SIFT_SCREENSHOTS_DIR when it is set (the README's are made with
 * `SIFT_SCREENSHOTS_DIR=docs/screenshots npx jest dist/tests/web/screenshots`), else beside the
 * other tests' screenshots.
 */
const OUT = process.env.SIFT_SCREENSHOTS_DIR ? path.resolve(PROJECT_ROOT, process.env.SIFT_SCREENSHOTS_DIR) : path.join(SCREENSHOT_DIR, 'real-models');
const REVIEWS = path.join(PROJECT_ROOT, 'examples/reviews.csv');
const QUESTIONS = ['Who directed Casablanca?', 'How long is the Nile?', 'What does NASA stand for?', 'Where is the Louvre?', 'Why is the sky blue?', 'What instrument did Miles Davis play?'];
const SENTENCES = ['A gorgeous, witty and deeply moving film.', 'The plot is a mess and the jokes fall flat.', 'Not the best of the year, but the cast carries it.'];

describe('screenshots of the web page with the bundled models', () => {
  const models = { SIFT_MODELS_DIR: BUNDLED_MODELS_DIR };
  let t: TestApi;
  let worker: WorkerProcess;
  let browser: Browser;
  let batchId = '';
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    t = await startTestApi(models);
    worker = await startWorkerProcess({ ...models, SIFT_KEY_PREFIX: t.prefix });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser.close();
    await worker.stop();
    await t.stop();
  });

  const open = async (width: number, height: number, hash: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width, height }, colorScheme, locale: 'en-US' });
    await page.goto(`${t.api.url}/${hash}`);
    return page;
  };

  it('predict: three sentences through the sentiment model', async () => {
    const page = await open(1280, 720, '#/predict');
    try {
      await page.getByLabel('Model').locator('option').first().waitFor({ state: 'attached' });
      expect(await page.getByLabel('Model').inputValue()).toBe('sentiment');
      await page.getByLabel('Texts, one a line').fill(SENTENCES.join('\n'));
      await page.getByRole('button', { name: 'Label' }).click();
      await page.getByTestId('prediction').nth(2).waitFor();
      expect(await page.getByTestId('label').allTextContents()).toEqual(['positive', 'negative', 'positive']);
      expect(await horizontalOverflow(page)).toBe(0);
      await page.screenshot({ path: path.join(OUT, 'predict.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('a batch: examples/reviews.csv uploaded through the page, finished', async () => {
    // A second, smaller batch on the other model, so the list shows both.
    const response = await fetch(`${t.api.url}/batches?model=question-type`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: `text\n${QUESTIONS.join('\n')}\n` });
    const questions = ((await response.json()) as { id: string }).id;
    await finished(t.client, questions);

    const page = await open(1280, 1000, '#/batch');
    try {
      await page.getByLabel('CSV or JSON Lines file').setInputFiles(REVIEWS);
      expect(await page.getByLabel('Id column (optional)').inputValue()).toBe('id');
      await page.getByRole('button', { name: 'Upload and run' }).click();
      await page.getByTestId('status').filter({ hasText: /completed/i }).waitFor({ timeout: 30_000 });
      batchId = decodeURIComponent(page.url().split('/').pop()!);
      const batch = (await t.client.request(BatchDocument, { id: batchId })).batch!;
      // 300 reviews; review-138 is empty on purpose and fails alone.
      expect(batch).toMatchObject({ model: 'sentiment', total: 300, processed: 300, failed: 1 });
      expect(batch.labelCounts.map((c) => c.label)).toEqual(['negative', 'positive']);
      // Reload, so the page shows the batch as anyone opening its link later would.
      await page.reload();
      await page.getByTestId('rows').locator('tr').nth(299).waitFor();
      await page.getByTestId('label-chart').waitFor();
      expect(await horizontalOverflow(page)).toBe(0);
      await page.screenshot({ path: path.join(OUT, 'batch.png') });
    } finally {
      await page.close();
    }
  }, 60_000);

  it('the batches list', async () => {
    const page = await open(1280, 380, '#/batches');
    try {
      await page.getByRole('link', { name: batchId }).waitFor();
      expect(await page.getByTestId('batches').locator('td.model').allTextContents()).toEqual(['sentiment', 'question-type']);
      await page.screenshot({ path: path.join(OUT, 'batches.png') });
    } finally {
      await page.close();
    }
  });

  it('the batch on a phone (390 px), and in dark mode', async () => {
    const phone = await open(390, 844, `#/batch/${batchId}`);
    try {
      await phone.getByTestId('rows').locator('tr').first().waitFor();
      await phone.getByTestId('label-chart').waitFor();
      expect(await horizontalOverflow(phone)).toBe(0);
      await phone.screenshot({ path: path.join(OUT, 'batch-phone.png') });
    } finally {
      await phone.close();
    }
    const dark = await open(1280, 1000, `#/batch/${batchId}`, 'dark');
    try {
      await dark.getByTestId('rows').locator('tr').first().waitFor();
      await dark.getByTestId('label-chart').waitFor();
      await dark.screenshot({ path: path.join(OUT, 'batch-dark.png') });
    } finally {
      await dark.close();
    }
  });
});
