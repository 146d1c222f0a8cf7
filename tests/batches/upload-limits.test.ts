import diagnostics from 'node:diagnostics_channel';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { BatchesDocument } from '../../src/client/generated/graphql';
import { startTestApi, type TestApi } from '../support/api';
import { tinyModelsDir } from '../support/tiny-models';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' };
const MAX_ROW = 64 * 1024;
const PIECE = 64 * 1024;
const FIFTY_MB = 50 * 1024 * 1024;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: { id?: string; total?: number; error?: { code: string; message: string; line?: number; maxRowBytes?: number } };
  /** Bytes of body the client had written when the answer was in. */
  sent: number;
  /** Bytes the server had taken off the connection (headers included) when it answered. */
  serverRead: number;
  /** Settles once the connection is closed. */
  closed: Promise<void>;
}

// What each upload's server side had read when it answered, by the x-upload header the test sets:
// the server is in this process, and Node announces every request it starts on this channel.
const serverReads = new Map<string, number>();
let server: Server | null = null;
function onRequestStart(message: unknown): void {
  const { request, response, socket, server: from } = message as { request: IncomingMessage; response: ServerResponse; socket: Socket; server: Server };
  server = from;
  const upload = request.headers['x-upload'];
  if (typeof upload !== 'string') return;
  // 'prefinish' comes as the answer is handed to the socket, before anything after it reads on.
  response.once('prefinish', () => serverReads.set(upload, socket.bytesRead));
}
beforeAll(() => diagnostics.subscribe('http.server.request.start', onRequestStart));
afterAll(() => diagnostics.unsubscribe('http.server.request.start', onRequestStart));

let uploads = 0;

/**
 * POST /batches with a body written piece by piece, as the connection takes them (each write
 * waits for the last to drain), on a connection of its own; it stops writing as soon as the
 * answer arrives, as a client that reads answers early does.
 */
function post(t: TestApi, contentType: string, pieces: AsyncIterable<Buffer> | Iterable<Buffer>, query: Record<string, string> = {}): Promise<Answer> {
  const upload = String(++uploads);
  return new Promise((resolve, reject) => {
    const request = http.request(`${t.api.url}/batches?${new URLSearchParams(query)}`, { method: 'POST', agent: false, headers: { 'content-type': contentType, 'x-upload': upload } });
    const closed = new Promise<void>((settle) => request.once('close', () => settle()));
    let sent = 0;
    let answered = false;
    request.once('response', (response) => {
      answered = true;
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.once('error', reject);
      response.once('end', () => {
        const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Answer['body'];
        resolve({ status: response.statusCode!, headers: response.headers, body, sent, serverRead: serverReads.get(upload) ?? Number.NaN, closed });
      });
    });
    // Once answered, the server closing the connection under the rest of the body is expected.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    const writable = () =>
      new Promise<void>((go) => {
        const done = () => {
          request.off('drain', done).off('close', done).off('response', done);
          go();
        };
        request.on('drain', done).on('close', done).on('response', done);
      });
    void (async () => {
      for await (const piece of pieces) {
        if (answered || request.destroyed) return;
        sent += piece.length;
        if (!request.write(piece)) await writable();
      }
      if (!answered && !request.destroyed) request.end();
    })().catch(reject);
  });
}

/** `total` bytes of `fill`, after `before`, in pieces of PIECE bytes. */
function* bytes(before: string, fill: string, total: number, after = ''): Generator<Buffer> {
  yield Buffer.from(before);
  const piece = Buffer.alloc(PIECE, fill);
  for (let sent = 0; sent < total; sent += PIECE) yield total - sent >= PIECE ? piece : piece.subarray(0, total - sent);
  if (after) yield Buffer.from(after);
}

/** `text` cut into pieces of `size` bytes, whatever they split. */
function* cut(text: string, size: number): Generator<Buffer> {
  const all = Buffer.from(text);
  for (let start = 0; start < all.length; start += size) yield all.subarray(start, start + size);
}

async function* slowly(pieces: Iterable<Buffer>, waitMs: (i: number) => number): AsyncGenerator<Buffer> {
  let i = 0;
  for (const piece of pieces) {
    const ms = waitMs(i++);
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    yield piece;
  }
}

async function batchCount(t: TestApi): Promise<number> {
  return (await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length;
}

/**
 * The most the server may have read when it refuses a row: the bytes before that row, the limit,
 * one read past it (what one read of the request hands over: up to a 64 KiB socket read and
 * what was buffered before it), one more socket read Node takes into the request's buffer while
 * the route answers, and the request's headers and chunk framing.
 */
const READ_SLACK = 3 * 64 * 1024 + 4096;

describe('POST /batches: rows have a byte limit, refused early and on the bytes', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_MAX_ROW_BYTES: String(MAX_ROW) });
  });
  afterAll(() => t.stop());

  it('refuses a 50 MB JSON Lines line with ROW_TOO_LARGE and its line number, having read about SIFT_MAX_ROW_BYTES of it, and creates no batch', async () => {
    const before = await batchCount(t);
    const start = '{"text": "fine"}\n{"text": "also fine"}\r\n\n{"text": "';
    const answer = await post(t, 'application/x-ndjson', bytes(start, 'a', FIFTY_MB, '"}\n'));
    expect([answer.status, answer.body.error?.code, answer.body.error?.line, answer.body.error?.maxRowBytes]).toEqual([400, 'ROW_TOO_LARGE', 4, MAX_ROW]);
    expect(answer.body.error?.message).toBe(
      `Line 4 is longer than ${MAX_ROW} bytes, the most SIFT_MAX_ROW_BYTES lets one row have. Check that the file has one row a line (a file without line breaks reads as one long row), or split that row.`,
    );
    expect(answer.headers.connection).toBe('close');
    expect(answer.serverRead).toBeLessThanOrEqual(start.length + MAX_ROW + READ_SLACK);
    // The answer came while the client still had most of the line to send.
    expect(answer.sent).toBeLessThan(FIFTY_MB);
    await answer.closed;
    expect(await batchCount(t)).toBe(before);
  });

  it('refuses a 50 MB CSV without a line break (all header) the same way, with a small body that does not echo it', async () => {
    const before = await batchCount(t);
    const answer = await post(t, 'text/csv', bytes('id,', 'h', FIFTY_MB));
    expect([answer.status, answer.body.error?.code, answer.body.error?.line]).toEqual([400, 'ROW_TOO_LARGE', 1]);
    expect(JSON.stringify(answer.body).length).toBeLessThan(1000);
    expect(answer.serverRead).toBeLessThanOrEqual(3 + MAX_ROW + READ_SLACK);
    expect(answer.sent).toBeLessThan(FIFTY_MB);
    expect(await batchCount(t)).toBe(before);
  });

  it('takes rows of exactly SIFT_MAX_ROW_BYTES bytes (line ends not counted), in CSV and JSON Lines, LF and CRLF', async () => {
    const jsonLine = (size: number) => `{"text": "${'j'.repeat(size - 12)}"}`;
    expect(Buffer.byteLength(jsonLine(MAX_ROW))).toBe(MAX_ROW);
    const jsonl = await post(t, 'application/x-ndjson', cut(`{"text": "short"}\n${jsonLine(MAX_ROW)}\r\n${jsonLine(MAX_ROW)}\n{"text": "last"}`, 10_000));
    expect([jsonl.status, jsonl.body.total]).toEqual([202, 4]);
    // Multi-byte characters count by their bytes: 21,845 of '☺' (3 bytes each) and one 'x' is 65,536 bytes.
    const cell = `${'☺'.repeat((MAX_ROW - 1) / 3)}x`;
    expect(Buffer.byteLength(cell)).toBe(MAX_ROW);
    const csv = await post(t, 'text/csv', cut(`text\r\n${cell}\r\nshort\r\n${cell}\n`, 4099));
    expect([csv.status, csv.body.total]).toEqual([202, 3]);
    // One byte more is refused, naming the line.
    const over = await post(t, 'text/csv', cut(`text\r\nshort\r\n${cell}x\r\n`, 4099));
    expect([over.status, over.body.error?.code, over.body.error?.line]).toEqual([400, 'ROW_TOO_LARGE', 3]);
  });

  it('names the right line with CRLF line ends and the long row cut across many pieces', async () => {
    const before = await batchCount(t);
    const lines = Array.from({ length: 40 }, (_, i) => `${i},row ${i}`);
    lines[29] = `29,${'l'.repeat(MAX_ROW)}`;
    for (const size of [7, 1000, 65_537]) {
      const answer = await post(t, 'text/csv', cut(`id,text\r\n${lines.join('\r\n')}\r\n`, size), { idColumn: 'id' });
      expect([size, answer.status, answer.body.error?.code, answer.body.error?.line]).toEqual([size, 400, 'ROW_TOO_LARGE', 31]);
    }
    expect(await batchCount(t)).toBe(before);
  }, 60_000);

  it('answers a CSV whose header is one 5 MB column name, and no text column, with a small MISSING_COLUMN', async () => {
    const api = await startTestApi({ ...shared, SIFT_MAX_ROW_BYTES: String(8 * 1024 * 1024) });
    try {
      const answer = await post(api, 'text/csv', cut(`${'c'.repeat(5 * 1024 * 1024)},id\nhello,1\n`, PIECE));
      expect([answer.status, answer.body.error?.code]).toEqual([400, 'MISSING_COLUMN']);
      expect(answer.body.error?.message).toMatch(/^The header has no column "text" for the text; the columns found are "c{200}"… \(5242880 characters\), "id"\./);
      expect(JSON.stringify(answer.body).length).toBeLessThan(2000);
    } finally {
      await api.stop();
    }
  });
});

describe('POST /batches: no limit on an upload’s total time, only on its silence', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_UPLOAD_IDLE_TIMEOUT_MS: '1000' });
  });
  afterAll(() => t.stop());

  it('sets no total-time limit on requests (Node’s default 300 s requestTimeout cut slow uploads), and keeps a minute for the headers', async () => {
    server = null;
    expect((await fetch(`${t.api.url}/healthz`)).status).toBe(200);
    expect(server).not.toBeNull();
    expect([server!.requestTimeout, server!.headersTimeout]).toEqual([0, 60_000]);
  });

  it('takes an upload that sends a line every 300 ms for 3 s, three times the idle timeout in all', async () => {
    const lines = Array.from({ length: 11 }, (_, i) => Buffer.from(`{"text": "line ${i}"}\n`));
    const answer = await post(t, 'application/x-ndjson', slowly(lines, (i) => (i === 0 ? 0 : 300)));
    expect([answer.status, answer.body.total]).toEqual([202, 11]);
  });

  it('ends an upload that stalls for 2 s mid-body with 408 UPLOAD_IDLE_TIMEOUT, closes the connection, and creates no batch', async () => {
    const before = await batchCount(t);
    const lines = Array.from({ length: 6 }, (_, i) => Buffer.from(`{"text": "line ${i}"}\n`));
    const answer = await post(t, 'application/x-ndjson', slowly(lines, (i) => (i === 3 ? 2000 : 0)));
    expect([answer.status, answer.body]).toEqual([
      408,
      {
        error: {
          code: 'UPLOAD_IDLE_TIMEOUT',
          message: 'The upload sent nothing for 1000 ms, the most SIFT_UPLOAD_IDLE_TIMEOUT_MS allows, and was ended; no batch was created. Send the file again.',
        },
      },
    ]);
    expect(answer.headers.connection).toBe('close');
    // The answer came during the stall: the last three lines were never sent.
    expect(answer.sent).toBe(lines.slice(0, 3).reduce((sum, line) => sum + line.length, 0));
    await answer.closed;
    expect(await batchCount(t)).toBe(before);
  });

  it('leaves a kept-alive connection idle between requests as it was: the next request reuses it', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const request = http.get(`${t.api.url}${path}`, { agent }, (response) => {
          response.resume();
          response.once('end', () => resolve({ status: response.statusCode!, reused: request.reusedSocket }));
        });
        request.once('error', reject);
      });
    try {
      expect(await get('/healthz')).toEqual({ status: 200, reused: false });
      // Longer than the idle timeout, shorter than Node's 5 s keep-alive timeout.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await get('/healthz')).toEqual({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });

  it('leaves a silent WebSocket open', async () => {
    let connected = 0;
    let closed = 0;
    const ws = createClient({
      url: `${t.api.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      keepAlive: 0,
      on: { connected: () => connected++, closed: () => closed++ },
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const results: unknown[] = [];
      for await (const result of ws.iterate({ query: '{ models { name } }' })) results.push(result);
      expect(results).toEqual([{ data: { models: [{ name: 'tiny-hashed' }, { name: 'tiny-transformer' }] } }]);
      expect([connected, closed]).toEqual([1, 0]);
    } finally {
      await ws.dispose();
    }
  });
});
