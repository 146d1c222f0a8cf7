import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import cors from 'cors';
import type { RequestHandler } from 'express';
import { ErrorCodes, userError, type SiftError } from '../errors';

export interface OriginPolicyOptions {
  /**
   * `SIFT_CORS_ORIGINS`: the origins, besides this server's own, whose pages may read its answers
   * and open its WebSocket, as `URL.origin` gives them (`https://app.example.com`).
   */
  allowedOrigins: readonly string[];
  /** Answer only requests whose Host names this machine (auth off on a loopback HOST; see `hostRefusal`). */
  loopbackHostsOnly: boolean;
}

/** Response headers a listed page may read besides the simple ones: where an upload went, when to retry, a download's name. */
const EXPOSED_HEADERS = ['Location', 'Retry-After', 'Content-Disposition'];

/** `localhost`, `127.x.x.x` and `[::1]`: the names a browser can only have used to reach this machine. */
function isLoopbackName(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** The `host` (name and port, default port dropped) a Host header names for `protocol`, or null when it names none. */
function hostOf(header: string | undefined, protocol = 'http:'): string | null {
  if (!header) return null;
  try {
    const url = new URL(`${protocol}//${header}`);
    // A Host header is a name and a port, nothing else (no user, no path): anything more is not one.
    return url.username || url.password || url.pathname !== '/' || url.search || url.hash ? null : url.host;
  } catch {
    return null;
  }
}

/**
 * Which web pages may talk to this server, and under which names it answers at all.
 *
 * - **Origin** (CORS and the WebSocket): a page of this server's own origin, or of one listed in
 *   `SIFT_CORS_ORIGINS`. Browsers send `Origin` with every cross-origin request and with every
 *   WebSocket; a request without one (curl, the CLI, the SDK in Node) is no browser page's and is
 *   not this policy's business: API keys are. "Same origin" compares the Origin's host and port
 *   with the request's own Host header, so the page works whichever name it was opened under
 *   (`localhost:4000`, `127.0.0.1:4000`) and behind a proxy that passes Host on.
 * - **Host** (DNS rebinding): see `hostRefusal`.
 */
export class OriginPolicy {
  private readonly allowed: ReadonlySet<string>;

  constructor(private readonly options: OriginPolicyOptions) {
    this.allowed = new Set(options.allowedOrigins);
  }

  /**
   * Why a request whose Host header is `host` is not answered, or null when it is.
   *
   * With auth off on a loopback HOST, anyone who reaches the port may do anything, and only this
   * machine reaches it. DNS rebinding breaks that: a page at `http://evil.example:4000/` whose name
   * then resolves to 127.0.0.1 talks to Sift as its own origin, so neither CORS nor the Origin check
   * stops it. Its requests still say `Host: evil.example:4000`, so only loopback names are answered.
   * The port is not compared: a rebinding page's Host names the attacker's domain whatever the
   * port, and a dev proxy in front of Sift (`npm run dev:web` forwards `Host: localhost:5173`)
   * must keep working.
   * With auth on there is no Host check: a rebinding page has no key, and proxies in front of a
   * real deployment send Hosts of their own.
   */
  hostRefusal(host: string | undefined): SiftError | null {
    if (!this.options.loopbackHostsOnly) return null;
    const named = hostOf(host);
    const hostname = named === null ? null : new URL(`http://${named}`).hostname;
    if (hostname !== null && isLoopbackName(hostname)) return null;
    return userError(
      ErrorCodes.ORIGIN_NOT_ALLOWED,
      `This server runs without API keys on a loopback address, so it answers only requests made to localhost, 127.0.0.1 or [::1], and this one was made to ${host ? JSON.stringify(host.slice(0, 100)) : 'no host'}. Open it as http://localhost:<port>/, or run it with SIFT_AUTH=keys to serve other names.`,
    );
  }

  /** Whether a page of `origin` may read this server's answers and open its WebSocket; true when the request carries no Origin. */
  allowsOrigin(origin: string | undefined, host: string | undefined): boolean {
    if (origin === undefined) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      // "null" (a sandboxed frame, a file: page) and anything else that is no origin.
      return false;
    }
    if (this.allowed.has(url.origin)) return true;
    return (url.protocol === 'http:' || url.protocol === 'https:') && hostOf(host, url.protocol) === url.host;
  }

  /** Why a request from a page of `origin` is refused (the WebSocket), or null. */
  originRefusal(origin: string | undefined, host: string | undefined): SiftError | null {
    if (this.allowsOrigin(origin, host)) return null;
    return userError(
      ErrorCodes.ORIGIN_NOT_ALLOWED,
      `Pages of ${JSON.stringify(String(origin).slice(0, 100))} may not use this server. Open Sift's own page, or add that origin to SIFT_CORS_ORIGINS on the server.`,
    );
  }

  /** Express: passes a request whose Host is refused to the error handler (403 ORIGIN_NOT_ALLOWED). */
  hostGuard(): RequestHandler {
    return (req, _res, next) => next(this.hostRefusal(req.headers.host) ?? undefined);
  }

  /**
   * Express: CORS for the routes a page may read. Only an allowed origin gets
   * `Access-Control-Allow-Origin` (its own, never `*`); any other gets no CORS header, so the
   * browser keeps the answer from the page, and its preflight fails.
   */
  cors(): RequestHandler {
    const handler = cors((req, callback) => {
      const origin = req.headers.origin;
      const allowed = origin !== undefined && this.allowsOrigin(origin, req.headers.host);
      callback(null, { origin: allowed ? origin : false, exposedHeaders: EXPOSED_HEADERS, maxAge: 600 });
    });
    return (req, res, next) => {
      // The answer depends on Origin, so a cache must not give one origin's answer to another.
      res.vary('Origin');
      handler(req, res, next);
    };
  }

  /** Why a WebSocket upgrade is refused (its Host, then its Origin), or null. */
  upgradeRefusal(request: IncomingMessage): SiftError | null {
    return this.hostRefusal(request.headers.host) ?? this.originRefusal(request.headers.origin, request.headers.host);
  }
}

/** Answers an upgrade request with an HTTP error and its JSON body, then closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, error: { code: string; message: string }): void {
  const body = JSON.stringify({ error: { code: error.code, message: error.message } });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
