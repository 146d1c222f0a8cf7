import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import { isLandingPageRequest, LANDING_PAGE_CSP } from './landing-page';

type Directives = Record<string, Iterable<string> | null | typeof helmet.contentSecurityPolicy.dangerouslyDisableDefaultSrc>;

/** CSP sources (`'sha256-…'`) of the inline `<style>` elements in the built page's index.html. */
function inlineStyleHashes(webAppDir: string): string[] {
  const index = path.join(webAppDir, 'index.html');
  if (!existsSync(index)) return [];
  const html = readFileSync(index, 'utf8');
  return [...html.matchAll(/<style(?:\s[^>]*)?>([\s\S]*?)<\/style>/gi)].map((match) => `'sha256-${createHash('sha256').update(match[1], 'utf8').digest('base64')}'`);
}

/**
 * The web page's Content-Security-Policy: it loads everything from this server and nothing from
 * elsewhere, so every source is `'self'`. Two exceptions, both for styles, and why:
 * - `style-src-attr 'unsafe-inline'`: Lit templates bind `style="width:…%"` attributes (the score
 *   bars), which the browser treats as inline styles. Style attributes cannot read the page or
 *   run code; inline `<style>` elements (CSS that could match attributes to leak them) stay
 *   refused: `style-src-elem` allows this server's files and index.html's own `<style>`, by hash.
 *   Lit's component styles are constructed stylesheets, which CSP does not govern.
 * - `style-src 'self' 'unsafe-inline'`: the fallback for browsers that know neither of the two
 *   directives above (those that do ignore it).
 * `connect-src 'self'` covers the page's requests and its WebSocket (same host and port). No
 * `upgrade-insecure-requests`: Sift is served over plain HTTP (loopback, a LAN), where it would
 * turn the page's own requests into HTTPS ones that fail.
 */
export function webPageDirectives(webAppDir: string): Directives {
  return {
    'default-src': ["'self'"],
    'base-uri': ["'self'"],
    'connect-src': ["'self'"],
    'font-src': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'self'"],
    'img-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'style-src-elem': ["'self'", ...inlineStyleHashes(webAppDir)],
    'style-src-attr': ["'unsafe-inline'"],
  };
}

/**
 * helmet's headers on every answer (`X-Content-Type-Options: nosniff`, `X-Frame-Options:
 * SAMEORIGIN`, `Referrer-Policy: no-referrer`, `Cross-Origin-Opener-Policy` and
 * `-Resource-Policy: same-origin`, `Strict-Transport-Security` (which browsers heed over HTTPS
 * only), …), no `X-Powered-By`, and a Content-Security-Policy: the web page's on every answer
 * (JSON and downloads included, where it only forbids), except Apollo Sandbox's landing page at
 * `GET /graphql`, which gets `LANDING_PAGE_CSP`.
 */
export function securityHeaders(webAppDir: string): RequestHandler {
  const others = helmet({ contentSecurityPolicy: false });
  const pageCsp = helmet.contentSecurityPolicy({ useDefaults: false, directives: webPageDirectives(webAppDir) });
  const landingCsp = helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: { 'default-src': helmet.contentSecurityPolicy.dangerouslyDisableDefaultSrc, ...LANDING_PAGE_CSP },
  });
  return (req, res, next) => {
    others(req, res, (error?: unknown) => {
      if (error) return next(error);
      (isLandingPageRequest(req) ? landingCsp : pageCsp)(req, res, next);
    });
  };
}
