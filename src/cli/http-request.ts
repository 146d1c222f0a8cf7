import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

/** One request of the command line's uploads and downloads. */
export interface HttpRequestInit {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Streamed as it is read; a body's read error ends the request with it. */
  body?: Readable;
  signal?: AbortSignal;
  /** How long the connection may stay silent (IDLE_TIMEOUT_MS by default). */
  idleTimeoutMs?: number;
}

/**
 * Sends a request with Node's own HTTP client and resolves with the answer as it starts, its body
 * still to read (a Node stream: it fails, with "aborted", when the connection ends before the
 * body does). Rejects when no answer comes (nothing listens, the connection breaks first).
 *
 * Not fetch: undici compiles its HTTP parser (WebAssembly) on its first request, 0.15 to 0.19 s of
 * CPU before the first byte of every `sift` command that uploads or downloads (`node -e` with one
 * fetch of /healthz: 0.28 to 0.31 s user CPU, with http.get 0.12 to 0.13 s, with nothing 0.10 to
 * 0.12 s), and its web streams cost more per piece than Node's.
 *
 * An answer that comes before the whole body is sent (a refusal: a row too large, a bad key) stops
 * the upload there; the body is not read further.
 */
export async function httpRequest(url: string, init: HttpRequestInit = {}): Promise<IncomingMessage> {
  let target = new URL(url);
  let headers = init.headers;
  for (let redirects = 0; ; redirects++) {
    const response = await send(target, { ...init, headers });
    const location = response.headers.location;
    // A download follows redirects, as fetch did (an http:// URL sent on to https://); an upload's
    // body is gone by then, and its redirect is the caller's answer to report.
    if (init.body || !REDIRECTS.has(response.statusCode ?? 0) || location === undefined || redirects === MAX_REDIRECTS) return response;
    response.resume();
    const next = new URL(location, target);
    // The key goes only where it was meant to (fetch drops Authorization across origins too).
    if (next.origin !== target.origin && headers?.authorization !== undefined) {
      const { authorization: _dropped, ...rest } = headers;
      headers = rest;
    }
    target = next;
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/**
 * A connection silent this long (no answer, or no more of its body) fails, as fetch's did
 * (undici's headers and body timeouts): a server that accepts and then never answers would
 * otherwise hold the command for ever.
 */
export const IDLE_TIMEOUT_MS = 300_000;

function send(target: URL, init: HttpRequestInit): Promise<IncomingMessage> {
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const idleMs = init.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    const request = client.request(target, { method: init.method ?? 'GET', headers: init.headers, signal: init.signal, timeout: idleMs });
    request.on('timeout', () => request.destroy(Object.assign(new Error(`the connection was silent for ${idleMs / 1000} s`), { code: 'ETIMEDOUT' })));
    let answered = false;
    request.once('response', (response) => {
      answered = true;
      if (init.body && !request.writableFinished) {
        init.body.unpipe(request);
        init.body.destroy();
      }
      resolve(response);
    });
    // Once answered, the server closing the connection under the rest of an upload is expected.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (!init.body) {
      request.end();
      return;
    }
    init.body.once('error', (error) => request.destroy(error));
    init.body.pipe(request);
  });
}

/** The whole body of an answer, as text (an answer's JSON: a few hundred bytes). */
export async function bodyText(response: IncomingMessage): Promise<string> {
  let text = '';
  for await (const piece of response.setEncoding('utf8') as AsyncIterable<string>) text += piece;
  return text;
}
