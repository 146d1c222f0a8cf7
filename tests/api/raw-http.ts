import { request, type IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';

/** An answer as the bytes arrived: status, headers, body text. */
export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP request with exactly the headers given (Host and Origin included, which fetch will not
 * set as a browser page would), on a connection of its own, to the server at `url`.
 */
export function rawRequest(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The `{ error: { code, message } }` an answer carries, after checking it is JSON. */
export function jsonError(answer: RawAnswer): { code: string; message: string } {
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  const parsed = JSON.parse(answer.body) as { error: { code: string; message: string } };
  expect(typeof parsed.error.message).toBe('string');
  return parsed.error;
}

/** How a WebSocket upgrade went: opened (then closed again by us), or refused with an HTTP answer. */
export type UpgradeOutcome = { opened: true } | { opened: false; status: number; body: string };

/** Tries a WebSocket upgrade to `url` (ws://…) with these headers (`origin`, `host`). */
export function tryUpgrade(url: string, options: { origin?: string; host?: string } = {}): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { origin: options.origin, headers: options.host ? { host: options.host } : {} });
    socket.once('open', () => {
      socket.close();
      resolve({ opened: true });
    });
    socket.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ opened: false, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    socket.once('error', (error) => reject(error));
  });
}
