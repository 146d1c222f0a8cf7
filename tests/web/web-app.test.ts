import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestApi, type TestApi } from '../support/api';
import { launchBrowser, SCREENSHOT_DIR } from '../support/browser';
import { tinyModelsDir } from '../support/tiny-models';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' };

describe('the web app in a real browser', () => {
  let t: TestApi;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    t = await startTestApi(shared);
    browser = await launchBrowser();
  });
  beforeEach(async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
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

  it('says what to do when the text is empty, where the user is looking', async () => {
    await page.goto(`${t.api.url}/#/predict`);
    await page.getByRole('button', { name: 'Label' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('Type a text to label');
  });
});
