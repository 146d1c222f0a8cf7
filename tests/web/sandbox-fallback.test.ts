import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { eventually, startTestApi, type TestApi } from '../support/api';
import { launchBrowser, SCREENSHOT_DIR } from '../support/browser';
import { tinyModelsDir } from '../support/tiny-models';

// This machine reaches no CDN, as a user offline or behind a strict proxy would not: Apollo
// Sandbox cannot load, and the page must still give the user somewhere to go.
describe('GET /graphql in a browser that cannot reach Apollo\'s CDN', () => {
  let t: TestApi;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestApi({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser.close();
    await t.stop();
  });

  it('keeps the Sandbox, and shows a link to the web page and a curl command for this server', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      // Not 'load': that waits for the CDN's script to fail, which can take as long as the network's timeout.
      await page.goto(`${t.api.url}/graphql`, { waitUntil: 'domcontentloaded' });
      // The page still tries the Sandbox first.
      expect(await page.locator('script[src*="embeddable-sandbox"]').count()).toBe(1);
      const link = page.getByRole('link', { name: "open Sift's web page" });
      await link.waitFor({ state: 'visible' });
      // Apollo's page fades its fallback in after a second; the user sees it once it is opaque.
      const opacity = () => page.locator('.fallback').evaluate((element: any) => element.ownerDocument.defaultView.getComputedStyle(element).opacity as string);
      await eventually(async () => (await opacity()) === '1', 5000, 'the fallback to fade in');
      expect(await page.locator('#sift-endpoint').textContent()).toBe(`${t.api.url}/graphql`);
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'sandbox-offline.png') });
      await link.click();
      await page.waitForURL(`${t.api.url}/`);
    } finally {
      await page.close();
    }
  });
});
