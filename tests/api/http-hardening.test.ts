import { request } from 'node:http';
import { connect } from 'node:net';
import { loadConfig } from '../../src/config/config';
import { configFailure } from '../support/config';
import { ErrorCodes } from '../../src/errors';
import { startTestApi, type TestApi } from '../support/api';
import { sampleSum, scrape } from '../support/prometheus';
import { tinyModelsDir } from '../support/tiny-models';
import { jsonError, rawRequest, type RawAnswer } from './raw-http';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };
// SIFT_MAX_TEXTS_PER_REQUEST=5 makes the GraphQL body limit its floor of 1 MiB (tiny models).
const BODY_LIMIT = 1 << 20;
const json = { 'content-type': 'application/json' };

describe('headers and errors of every route', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_MAX_TEXTS_PER_REQUEST: '5' });
  });
  afterAll(() => t.stop());

  const routes = (): [string, string, Record<string, string>, string | undefined][] => [
    ['GET', '/', {}, undefined],
    ['GET', '/graphql', { accept: 'text/html' }, undefined],
    ['POST', '/graphql', json, JSON.stringify({ query: '{ __typename }' })],
    ['POST', '/graphql', json, '{not json'],
    ['GET', '/batches/nope', {}, undefined],
    ['GET', '/healthz', {}, undefined],
    ['GET', '/metrics', {}, undefined],
    ['GET', '/no/such/route', {}, undefined],
  ];

  it("sends helmet's headers and no X-Powered-By on every route, answers and errors alike", async () => {
    for (const [method, path, headers, body] of routes()) {
      const answer = await rawRequest(t.api.url, method, path, headers, body);
      const where = `${method} ${path} (${answer.status})`;
      expect([where, answer.headers['x-powered-by']]).toEqual([where, undefined]);
      expect([where, answer.headers['x-content-type-options']]).toEqual([where, 'nosniff']);
      expect([where, answer.headers['x-frame-options']]).toEqual([where, 'SAMEORIGIN']);
      expect([where, answer.headers['referrer-policy']]).toEqual([where, 'no-referrer']);
      expect([where, answer.headers['cross-origin-opener-policy']]).toEqual([where, 'same-origin']);
      expect(answer.headers['content-security-policy']).toMatch(/frame-ancestors 'self'/);
    }
  });

  it('gives the web page a policy of its own origin only, and Apollo Sandbox none that would block its CDN', async () => {
    const page = await rawRequest(t.api.url, 'GET', '/');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const csp = Object.fromEntries(String(page.headers['content-security-policy']).split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...sources]) => [name, sources]));
    expect(csp['default-src']).toEqual(["'self'"]);
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['connect-src']).toEqual(["'self'"]);
    expect(csp['object-src']).toEqual(["'none'"]);
    // index.html's own <style>, by hash; no other inline style element.
    expect(csp['style-src-elem']).toEqual(["'self'", expect.stringMatching(/^'sha256-[A-Za-z0-9+/]+=*'$/)]);
    expect(csp['upgrade-insecure-requests']).toBeUndefined();

    const sandbox = await rawRequest(t.api.url, 'GET', '/graphql', { accept: 'text/html' });
    expect(sandbox.status).toBe(200);
    expect(sandbox.body).toMatch(/embeddable-sandbox\.cdn\.apollographql\.com/);
    // Apollo's page brings its own policy, with the nonce of its inline script.
    expect(sandbox.body).toMatch(/<meta http-equiv="Content-Security-Policy" content="script-src 'self' 'nonce-/);
    const header = String(sandbox.headers['content-security-policy']);
    expect(header).not.toMatch(/default-src|script-src|style-src|connect-src|frame-src/);
    expect(header).toMatch(/object-src 'none'/);
  });

  it('answers every Express-level failure as JSON with a code that says what to fix', async () => {
    const cases: [string, () => Promise<RawAnswer>, number, string, RegExp][] = [
      ['malformed JSON', () => rawRequest(t.api.url, 'POST', '/graphql', json, '{"query": '), 400, ErrorCodes.MALFORMED_JSON, /not valid JSON/],
      ['a charset other than UTF-8', () => rawRequest(t.api.url, 'POST', '/graphql', { 'content-type': 'application/json; charset=iso-8859-1' }, '{}'), 415, ErrorCodes.UNSUPPORTED_MEDIA_TYPE, /UTF-8/],
      ['a content encoding Sift does not read', () => rawRequest(t.api.url, 'POST', '/graphql', { ...json, 'content-encoding': 'compress' }, '{}'), 415, ErrorCodes.UNSUPPORTED_MEDIA_TYPE, /Content-Encoding compress/],
      ['a body over the limit, declared', () => rawRequest(t.api.url, 'POST', '/graphql', { ...json, 'content-length': String(BODY_LIMIT + 1) }, 'x'.repeat(BODY_LIMIT + 1)), 413, ErrorCodes.BODY_TOO_LARGE, /POST \/batches/],
      ['a body over the limit, chunked', () => chunkedPost(t.api.url, '/graphql', BODY_LIMIT + 1), 413, ErrorCodes.BODY_TOO_LARGE, new RegExp(`${BODY_LIMIT} bytes`)],
      ['an unknown path', () => rawRequest(t.api.url, 'GET', '/nope'), 404, ErrorCodes.NOT_FOUND, /GET \/nope.*\/graphql/],
      ['an unknown method on a known path', () => rawRequest(t.api.url, 'DELETE', '/batches/some-id'), 404, ErrorCodes.NOT_FOUND, /DELETE \/batches\/some-id/],
      ['a folder of the web page', () => rawRequest(t.api.url, 'GET', '/assets'), 404, ErrorCodes.NOT_FOUND, /\/assets/],
      ['a missing asset', () => rawRequest(t.api.url, 'GET', '/assets/missing.js'), 404, ErrorCodes.NOT_FOUND, /missing\.js/],
      ['a path that does not decode', () => rawRequest(t.api.url, 'GET', '/batches/%E0%A4%A'), 400, ErrorCodes.BAD_REQUEST, /could not be read/],
      ['POST /metrics/reset, which is gone', () => rawRequest(t.api.url, 'POST', '/metrics/reset'), 404, ErrorCodes.NOT_FOUND, /POST \/metrics\/reset/],
    ];
    for (const [what, send, status, code, message] of cases) {
      const answer = await send();
      expect([what, answer.status]).toEqual([what, status]);
      const error = jsonError(answer);
      expect([what, error.code]).toEqual([what, code]);
      expect([what, error.message]).toEqual([what, expect.stringMatching(message)]);
      expect(answer.body).not.toMatch(/<html|<!DOCTYPE/i);
    }
    // The server answered them all and goes on.
    const after = await rawRequest(t.api.url, 'POST', '/graphql', json, JSON.stringify({ query: '{ __typename }' }));
    expect(JSON.parse(after.body)).toEqual({ data: { __typename: 'Query' } });
  });

  it('closes the connection of a body refused before it was read, rather than read it for nothing', async () => {
    const answer = await rawRequest(t.api.url, 'POST', '/graphql', { ...json, 'content-length': String(BODY_LIMIT + 1) }, 'x'.repeat(BODY_LIMIT + 1));
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe('close');
  });

  it('GraphQL errors keep their GraphQL shape', async () => {
    const answer = await rawRequest(t.api.url, 'POST', '/graphql', json, JSON.stringify({ query: '{ nope }' }));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) })] });
  });

  it('/metrics counts model runs since start (two readings give a period), with no reset', async () => {
    const read = async () => {
      const exposition = await scrape(`${t.api.url}/metrics`);
      return { runs: sampleSum(exposition, 'sift_model_run_rows_count'), rows: sampleSum(exposition, 'sift_model_run_rows_sum'), lagFamily: exposition.get('nodejs_eventloop_lag_p99_seconds')?.type };
    };
    const before = await read();
    expect(before.lagFamily).toBe('gauge');
    const texts = [`a warm day ${Date.now()}`, `a cold night ${Date.now()}`];
    await rawRequest(t.api.url, 'POST', '/graphql', json, JSON.stringify({ query: 'query($t: [String!]!) { predictMany(texts: $t) { label } }', variables: { t: texts } }));
    const after = await read();
    expect(after.rows - before.rows).toBe(2);
    expect(after.runs).toBeGreaterThan(before.runs);
    // Reading changes nothing.
    expect(await read()).toEqual(after);
  });
});

describe('a GraphQL body sent slowly', () => {
  let t: TestApi;
  const timeoutMs = 400;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_GRAPHQL_BODY_TIMEOUT_MS: String(timeoutMs) });
  });
  afterAll(() => t.stop());

  /** Sends POST /graphql's headers, then its body a byte every `gapMs`; the answer, and when the connection closed, from the start. */
  function dripped(body: string, gapMs: number): Promise<{ status: number; text: string; connection?: string; closedAfterMs: number }> {
    const { hostname, port } = new URL(t.api.url);
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const req = request({ hostname, port, method: 'POST', path: '/graphql', headers: { ...json, 'content-length': String(Buffer.byteLength(body)) }, agent: false });
      let sent = 0;
      const drip = setInterval(() => {
        if (sent < body.length && !req.destroyed) req.write(body[sent++]);
        if (sent === body.length) {
          clearInterval(drip);
          req.end();
        }
      }, gapMs);
      req.on('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => {
          clearInterval(drip);
          req.socket?.once('close', () => resolve({ status: res.statusCode ?? 0, text, connection: res.headers.connection, closedAfterMs: Date.now() - started }));
          if (req.socket?.destroyed) resolve({ status: res.statusCode ?? 0, text, connection: res.headers.connection, closedAfterMs: Date.now() - started });
        });
      });
      req.on('error', (error) => {
        clearInterval(drip);
        reject(error);
      });
    });
  }

  it('is answered 408 REQUEST_BODY_TIMEOUT once the time is up, and its connection closed', async () => {
    const body = JSON.stringify({ query: '{ models { name } }' });
    const answer = await dripped(body, 100); // about 3 s of body against 0.4
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.text).error.code).toBe(ErrorCodes.REQUEST_BODY_TIMEOUT);
    expect(JSON.parse(answer.text).error.message).toMatch(/SIFT_GRAPHQL_BODY_TIMEOUT_MS/);
    expect(answer.connection).toBe('close');
    expect(answer.closedAfterMs).toBeLessThan(timeoutMs + 2000);
    // The server goes on answering everyone else, and logged no fault: the answer was the client's.
    expect((await rawRequest(t.api.url, 'POST', '/graphql', json, body)).status).toBe(200);
    expect(t.logs.filter((line) => /"level":"(error|warn)"/.test(line))).toEqual([]);
  });

  it('closes the connection of a body still arriving after an answer given without reading it (a text/plain body)', async () => {
    // Apollo refuses the content type at once, without reading the body; the client, on a raw
    // socket that it never closes itself, goes on sending a byte every 100 ms for 6 s.
    const { hostname, port } = new URL(t.api.url);
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined); // a write after the server's close
    socket.write(`POST /graphql HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: text/plain\r\nContent-Length: 60\r\n\r\n`);
    const drip = setInterval(() => !socket.destroyed && socket.write('x'), 100);
    const closedAfterMs = await new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
    clearInterval(drip);
    expect(received).toMatch(/^HTTP\/1\.1 400 /);
    expect(closedAfterMs).toBeLessThan(timeoutMs + 2000);
  });

  it('a body that arrives in time is answered as usual, however it was split', async () => {
    const answer = await dripped(JSON.stringify({ query: '{ __typename }' }), 5);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ data: { __typename: 'Query' } });
  });

  it('reads SIFT_GRAPHQL_BODY_TIMEOUT_MS, a minute by default', () => {
    expect(loadConfig({}).graphqlBodyTimeoutMs).toBe(60_000);
    expect(loadConfig({ SIFT_GRAPHQL_BODY_TIMEOUT_MS: '5000' }).graphqlBodyTimeoutMs).toBe(5000);
  });
});

describe('SIFT_CACHED_PREDICTION=off', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CACHED_PREDICTION: 'off' });
  });
  afterAll(() => t.stop());

  it('refuses cachedPrediction with CACHED_PREDICTION_OFF, and answers the rest of the request', async () => {
    const text = `a warm day ${Date.now()}`;
    await rawRequest(t.api.url, 'POST', '/graphql', json, JSON.stringify({ query: 'query($t: String!) { predict(text: $t) { label } }', variables: { t: text } }));
    const answer = await rawRequest(t.api.url, 'POST', '/graphql', json, JSON.stringify({ query: 'query($t: String!) { cachedPrediction(text: $t) { label } predict(text: $t) { cached } }', variables: { t: text } }));
    const body = JSON.parse(answer.body) as { data: { cachedPrediction: null; predict: { cached: boolean } }; errors: { message: string; path: string[]; extensions: { code: string } }[] };
    expect(body.errors).toEqual([expect.objectContaining({ path: ['cachedPrediction'], extensions: expect.objectContaining({ code: 'CACHED_PREDICTION_OFF' }) })]);
    expect(body.errors[0].message).toMatch(/SIFT_CACHED_PREDICTION=off/);
    expect(body.data).toEqual({ cachedPrediction: null, predict: { cached: true } });
  });
});

describe('the transport settings', () => {

  it('default to the same origin only, 100 operations a socket, cachedPrediction on', () => {
    expect(loadConfig({}, '/srv/sift')).toMatchObject({ corsOrigins: [], maxOperationsPerSocket: 100, cachedPrediction: true });
  });

  it('read SIFT_CORS_ORIGINS as the origins a browser sends, and the others', () => {
    const config = loadConfig({ SIFT_CORS_ORIGINS: ' HTTPS://App.Example.com:443/ , http://localhost:5173,http://localhost:5173', SIFT_MAX_OPERATIONS_PER_SOCKET: '7', SIFT_CACHED_PREDICTION: 'OFF' }, '/srv/sift');
    expect(config).toMatchObject({ corsOrigins: ['https://app.example.com', 'http://localhost:5173'], maxOperationsPerSocket: 7, cachedPrediction: false });
  });

  it('refuse what is no origin, and *', () => {
    for (const value of ['*', 'app.example.com', 'https://app.example.com/path', 'ftp://app.example.com', 'https://user@app.example.com']) {
      const error = configFailure({ SIFT_CORS_ORIGINS: value });
      expect([value, error.code]).toEqual([value, 'BAD_CONFIG']);
      expect(error.message).toMatch(/^SIFT_CORS_ORIGINS=/);
    }
    expect(configFailure({ SIFT_MAX_OPERATIONS_PER_SOCKET: '0' }).message).toMatch(/^SIFT_MAX_OPERATIONS_PER_SOCKET=/);
    expect(configFailure({ SIFT_CACHED_PREDICTION: 'maybe' }).message).toMatch(/^SIFT_CACHED_PREDICTION=/);
  });
});

/** A POST whose body of `size` bytes comes chunked, with no Content-Length, so only the body parser can count it. */
function chunkedPost(url: string, path: string, size: number): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method: 'POST', path, headers: json, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    const piece = Buffer.alloc(64 * 1024, 'x');
    for (let sent = 0; sent < size; sent += piece.length) req.write(sent + piece.length <= size ? piece : piece.subarray(0, size - sent));
    req.end();
  });
}
