import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it when missing). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where tests save screenshots: outside the repository. */
export const SCREENSHOT_DIR = path.join(os.tmpdir(), 'sift-screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Where the web page keeps its API key in sessionStorage (web/src/api-key.ts, STORAGE_NAME). */
export const API_KEY_STORAGE_NAME = 'sift.apiKey';

/**
 * A page (or context) that holds `apiKey` as if it had been typed into the page's key form once:
 * in sessionStorage before any page loads, so the page sends it from its first request and never
 * asks. tests/web/api-keys.test.ts types it into the form itself.
 */
export async function withApiKey<T extends Page | BrowserContext>(target: T | Promise<T>, apiKey: string | undefined): Promise<T> {
  const opened = await target;
  if (apiKey === undefined) throw new Error('withApiKey: no key (start the API with SIFT_AUTH: keys)');
  // Runs before the page's own scripts on every load; about:blank has no storage to set.
  await opened.addInitScript(
    ([name, key]: string[]) => {
      try {
        if ((globalThis as any).sessionStorage.getItem(name) === null) (globalThis as any).sessionStorage.setItem(name, key);
      } catch {
        // no storage on this document
      }
    },
    [API_KEY_STORAGE_NAME, apiKey],
  );
  return opened;
}

// The helpers below run code in the page; the tests compile without DOM types, hence the loose typing.

/** How much wider than the window the document is (0 when nothing makes the page scroll sideways). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth') as Promise<number>;
}

/** The rendered width of an element, in CSS pixels. */
export async function renderedWidth(locator: Locator): Promise<number> {
  return locator.evaluate((element: any) => element.getBoundingClientRect().width as number);
}

/**
 * How many line boxes `word` takes inside the element: 1 when it is drawn whole, 2 or more when
 * the layout broke it mid-word. Throws when the element's text does not contain the word.
 */
export async function linesOfWord(locator: Locator, word: string): Promise<number> {
  return locator.evaluate((element: any, wanted: string) => {
    const document = element.ownerDocument;
    const walker = document.createTreeWalker(element, 4 /* NodeFilter.SHOW_TEXT */);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = (node.textContent as string).indexOf(wanted);
      if (at === -1) continue;
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + wanted.length);
      return range.getClientRects().length as number;
    }
    throw new Error(`no text node holds ${wanted}`);
  }, word);
}

/** How many line boxes an element's text takes (its height over its line height). */
export async function linesOfText(locator: Locator): Promise<number> {
  return locator.evaluate((element: any) => {
    const style = element.ownerDocument.defaultView.getComputedStyle(element);
    const lineHeight = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;
    return Math.round(element.getBoundingClientRect().height / lineHeight) as number;
  });
}

/** Relative luminance (0 black to 1 white) of a CSS colour such as `rgb(13, 17, 23)`. */
export function luminance(color: string): number {
  const [r, g, b] = (color.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
  if ([r, g, b].some((v) => v === undefined || Number.isNaN(v))) throw new Error(`not an rgb() colour: ${color}`);
  const linear = (v: number) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** A computed style property of an element, such as `background-color`. */
export async function computedStyle(locator: Locator, property: string): Promise<string> {
  return locator.evaluate((element: any, name: string) => element.ownerDocument.defaultView.getComputedStyle(element).getPropertyValue(name) as string, property);
}

/** Counts the GraphQL operations the page sends over HTTP, by operation name, from now on. */
export function countGraphQLRequests(page: Page): { total(): number; named(operation: string): number } {
  const names: string[] = [];
  page.on('request', (request) => {
    if (!new URL(request.url()).pathname.startsWith('/graphql')) return;
    const query = (request.postDataJSON() as { query?: string } | null)?.query ?? '';
    names.push(/^\s*(?:query|mutation|subscription)\s+(\w+)/.exec(query)?.[1] ?? '(anonymous)');
  });
  return { total: () => names.length, named: (operation) => names.filter((n) => n === operation).length };
}
