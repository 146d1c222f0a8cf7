import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { eventually, startTestApi, type TestApi } from '../support/api';
import { launchBrowser } from '../support/browser';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

// The page is served with a Content-Security-Policy of its own origin only. It must still do
// everything: scripts, styles (Lit's, and the bars' style attributes), requests, the WebSocket.
const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };

interface Watched {
  page: Page;
  /** What the browser reported as blocked by the policy (securitypolicyviolation events, console lines). */
  violations(): string[];
  /** Errors thrown in the page. */
  errors(): string[];
}

/** A page that records every CSP violation: the DOM event (from a script the policy does not govern) and the console's words. */
async function watchedPage(browser: Browser): Promise<Watched> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const seen: string[] = [];
  await page.exposeFunction('reportViolation', (line: string) => void seen.push(line));
  await page.addInitScript(() => {
    const w = globalThis as any;
    w.document.addEventListener('securitypolicyviolation', (e: any) => w.reportViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`));
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) seen.push(`console: ${message.text()}`);
  });
  const errors: string[] = [];
  page.on('pageerror', (error) => void errors.push(error.message));
  return { page, violations: () => [...seen], errors: () => [...errors] };
}

describe('the web page under its Content-Security-Policy, in Chromium', () => {
  let t: TestApi;
  let worker: WorkerProcess | undefined;
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApi(shared);
    browser = await launchBrowser();
    dir = mkdtempSync(path.join(os.tmpdir(), 'sift-csp-'));
  }, 60_000);
  afterAll(async () => {
    await browser.close();
    await worker?.stop();
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('labels a text, follows a batch over its WebSocket and draws its chart, with no violation', async () => {
    const { page, violations, errors } = await watchedPage(browser);
    try {
      const sockets: string[] = [];
      page.on('websocket', (socket) => socket.on('framereceived', () => void sockets.push(socket.url())));
      await page.goto(`${t.api.url}/`);
      expect((await page.request.get(`${t.api.url}/`)).headers()['content-security-policy']).toMatch(/script-src 'self'/);

      await page.getByLabel('Texts, one a line').fill('a warm summer day');
      await page.getByRole('button', { name: 'Label' }).click();
      const result = page.getByTestId('prediction');
      await result.getByTestId('label').waitFor();
      expect(['cold', 'warm', 'hot']).toContain(await result.getByTestId('label').textContent());
      // The bars are sized by style attributes; under a policy that refused them they would be 0 wide.
      const widths = await result.locator('.fill').evaluateAll((bars: any[]) => bars.map((bar) => bar.getBoundingClientRect().width as number));
      expect(widths.some((width) => width > 0)).toBe(true);
      // Lit's component styles apply (a shadow root's styles, not the browser's defaults).
      expect(await page.locator('sift-app').evaluate((app: any) => app.shadowRoot.adoptedStyleSheets.length as number)).toBeGreaterThan(0);

      const file = path.join(dir, 'weather.csv');
      writeFileSync(file, `text\n${Array.from({ length: 30 }, (_, i) => `a ${i % 2 ? 'warm' : 'cold'} day ${i}`).join('\n')}\n`);
      await page.goto(`${t.api.url}/#/batch`);
      await page.getByLabel('CSV or JSON Lines file').setInputFiles(file);
      await page.getByRole('button', { name: 'Upload and run' }).click();
      // No worker yet: the batch waits, and the page follows it over its WebSocket.
      await page.getByTestId('status').filter({ hasText: /queued/i }).waitFor();
      await eventually(async () => sockets.some((url) => url === `${t.api.url.replace(/^http/, 'ws')}/graphql`), 10_000, 'a frame over the WebSocket');
      worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
      await page.getByTestId('status').filter({ hasText: /completed/i }).waitFor({ timeout: 30_000 });
      await page.getByTestId('label-chart').waitFor();

      expect(violations()).toEqual([]);
      expect(errors()).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('is enforced: a script put into the page does not run, and is reported', async () => {
    const { page, violations } = await watchedPage(browser);
    try {
      await page.goto(`${t.api.url}/`);
      await page.getByLabel('Texts, one a line').waitFor();
      await page.evaluate(() => {
        const d = (globalThis as any).document;
        const script = d.createElement('script');
        script.textContent = 'globalThis.injected = true';
        d.body.append(script);
      });
      await page.waitForFunction(() => (globalThis as any).injected === true, undefined, { timeout: 1000 }).catch(() => undefined);
      expect(await page.evaluate(() => (globalThis as any).injected)).toBeUndefined();
      expect(violations()).toEqual(expect.arrayContaining([expect.stringMatching(/^script-src/)]));
    } finally {
      await page.close();
    }
  });

  it("leaves Apollo Sandbox's landing page to its own policy: its fallback's nonce'd style and script run, nothing is blocked", async () => {
    const { page, violations, errors } = await watchedPage(browser);
    try {
      // Not 'load': that waits for the CDN's script to fail (this machine is offline).
      await page.goto(`${t.api.url}/graphql`, { waitUntil: 'domcontentloaded' });
      await page.getByRole('link', { name: "open Sift's web page" }).waitFor({ state: 'visible' });
      expect(await page.locator('#sift-endpoint').textContent()).toBe(`${t.api.url}/graphql`);
      expect(violations()).toEqual([]);
      // The one error: the Sandbox's script, which never came from the CDN.
      expect(errors()).toEqual(['window.EmbeddedSandbox is not a constructor']);
    } finally {
      await page.close();
    }
  });
});
