import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ApiKeyStore } from '../../src/auth/api-key-store';
import { redisKeys } from '../../src/redis/keys';
import { startTestApi, type TestApi } from '../support/api';
import { testRedis } from '../support/redis';
import { tinyModelsDir } from '../support/tiny-models';
import { jsonError, rawRequest, tryUpgrade } from './raw-http';

// A web page of another origin must not read Sift's answers (CORS), open its WebSocket (Origin),
// or reach a key-less Sift on this machine through a name it controls (DNS rebinding: Host).
const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };
const LISTED = 'http://app.example:8080';
const FOREIGN = 'http://evil.example';
const query = JSON.stringify({ query: '{ __typename }' });
const json = { 'content-type': 'application/json' };
const wsUrl = (t: TestApi) => `${t.api.url.replace(/^http/, 'ws')}/graphql`;

describe('with auth off on a loopback HOST (the default)', () => {
  let t: TestApi;
  let port: string;
  let batchId: string;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CORS_ORIGINS: `${LISTED}, https://other.example` });
    port = new URL(t.api.url).port;
    const answer = await rawRequest(t.api.url, 'POST', '/graphql', json, JSON.stringify({ query: 'mutation { submitBatch(input: { texts: ["warm"] }) { id } }' }));
    batchId = (JSON.parse(answer.body) as { data: { submitBatch: { id: string } } }).data.submitBatch.id;
  });
  afterAll(() => t.stop());

  const reads = () => [
    ['POST', '/graphql', json, query],
    ['GET', `/batches/${batchId}`, {}, undefined],
    ['GET', `/batches/${batchId}/results.csv`, {}, undefined],
    ['GET', `/batches/${batchId}/results.jsonl`, {}, undefined],
  ] as const;

  it('answers a foreign origin without Access-Control-Allow-Origin on /graphql, /batches and the downloads, and fails its preflights', async () => {
    for (const [method, path, headers, body] of reads()) {
      const answer = await rawRequest(t.api.url, method, path, { ...headers, origin: FOREIGN }, body);
      expect([path, answer.status]).toEqual([path, 200]);
      expect([path, answer.headers['access-control-allow-origin']]).toEqual([path, undefined]);
      expect(answer.headers.vary).toMatch(/Origin/);
    }
    for (const path of ['/graphql', '/batches']) {
      const preflight = await rawRequest(t.api.url, 'OPTIONS', path, { origin: FOREIGN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
      expect([path, preflight.headers['access-control-allow-origin'], preflight.headers['access-control-allow-methods']]).toEqual([path, undefined, undefined]);
    }
  });

  it('lets a listed origin read, with its own origin (never *) and the headers a page needs', async () => {
    for (const [method, path, headers, body] of reads()) {
      const answer = await rawRequest(t.api.url, method, path, { ...headers, origin: LISTED }, body);
      expect([path, answer.headers['access-control-allow-origin']]).toEqual([path, LISTED]);
      expect(answer.headers['access-control-expose-headers']).toMatch(/Content-Disposition/);
    }
    const preflight = await rawRequest(t.api.url, 'OPTIONS', '/batches', { origin: LISTED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(LISTED);
    expect(preflight.headers['access-control-allow-headers']).toBe('content-type,authorization');
  });

  it('treats the page this server serves as its own, under either loopback name', async () => {
    for (const name of ['127.0.0.1', 'localhost']) {
      const answer = await rawRequest(t.api.url, 'POST', '/graphql', { ...json, host: `${name}:${port}`, origin: `http://${name}:${port}` }, query);
      expect(answer.status).toBe(200);
      expect(answer.headers['access-control-allow-origin']).toBe(`http://${name}:${port}`);
    }
    // The same name on another port is another origin.
    const otherPort = await rawRequest(t.api.url, 'POST', '/graphql', { ...json, host: `localhost:${port}`, origin: `http://localhost:${Number(port) + 1}` }, query);
    expect(otherPort.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers requests without Origin (curl, the CLI) as before, with no CORS headers', async () => {
    const answer = await rawRequest(t.api.url, 'POST', '/graphql', json, query);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ data: { __typename: 'Query' } });
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses the WebSocket upgrade of a foreign origin with 403 ORIGIN_NOT_ALLOWED, and opens it for a listed one, its own, and none', async () => {
    const refused = await tryUpgrade(wsUrl(t), { origin: FOREIGN });
    expect(refused).toMatchObject({ opened: false, status: 403 });
    const body = JSON.parse((refused as { body: string }).body) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('ORIGIN_NOT_ALLOWED');
    expect(body.error.message).toMatch(/SIFT_CORS_ORIGINS/);
    expect(await tryUpgrade(wsUrl(t), { origin: 'null' })).toMatchObject({ opened: false, status: 403 });
    expect(await tryUpgrade(wsUrl(t), { origin: LISTED })).toEqual({ opened: true });
    expect(await tryUpgrade(wsUrl(t), { origin: `http://localhost:${port}`, host: `localhost:${port}` })).toEqual({ opened: true });
    expect(await tryUpgrade(wsUrl(t))).toEqual({ opened: true });
  });

  it('runs operations over a listed origin\'s WebSocket', async () => {
    class ListedOriginSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { origin: LISTED });
      }
    }
    const client = createClient({ url: wsUrl(t), webSocketImpl: ListedOriginSocket, retryAttempts: 0 });
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        client.subscribe({ query: '{ __typename }' }, { next: resolve, error: reject, complete: () => undefined });
      });
      expect(result).toEqual({ data: { __typename: 'Query' } });
    } finally {
      await client.dispose();
    }
  });

  it('answers only loopback Host names (DNS rebinding): another name gets 403 ORIGIN_NOT_ALLOWED on every route and the WebSocket', async () => {
    for (const [method, path, body] of [['POST', '/graphql', query], ['GET', '/', undefined], ['GET', '/healthz', undefined], ['GET', `/batches/${batchId}/results.csv`, undefined], ['GET', '/metrics', undefined]] as const) {
      const answer = await rawRequest(t.api.url, method, path, { ...json, host: `evil.example:${port}`, origin: `http://evil.example:${port}` }, body);
      expect([path, answer.status]).toEqual([path, 403]);
      const error = jsonError(answer);
      expect(error.code).toBe('ORIGIN_NOT_ALLOWED');
      expect(error.message).toMatch(/localhost/);
    }
    // A rebinding page's WebSocket is of its own origin: only the Host gives it away.
    expect(await tryUpgrade(wsUrl(t), { host: `evil.example:${port}`, origin: `http://evil.example:${port}` })).toMatchObject({ opened: false, status: 403 });
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `127.0.0.2:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      const answer = await rawRequest(t.api.url, 'GET', '/healthz', { host });
      expect([host, answer.status]).toEqual([host, 200]);
    }
    for (const host of ['localhost.evil.example', `127.0.0.1.nip.io:${port}`, `localhost:${port}@evil.example`]) {
      const answer = await rawRequest(t.api.url, 'GET', '/healthz', { host });
      expect([host, answer.status]).toEqual([host, 403]);
    }
  });
});

describe('with auth on (SIFT_AUTH=keys)', () => {
  let t: TestApi;
  let key: string;
  const redis = testRedis();
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_AUTH: 'keys' });
    key = (await new ApiKeyStore(redis, redisKeys(t.prefix)).create('origins', ['predict', 'batches'])).key;
  });
  afterAll(async () => {
    redis.disconnect();
    await t.stop();
  });

  it('checks no Host: keys protect the server, and proxies send names of their own', async () => {
    const keyed = await rawRequest(t.api.url, 'POST', '/graphql', { ...json, host: 'sift.example.com', authorization: `Bearer ${key}` }, query);
    expect(keyed.status).toBe(200);
    expect(JSON.parse(keyed.body)).toEqual({ data: { __typename: 'Query' } });
    const keyless = await rawRequest(t.api.url, 'GET', '/healthz', { host: 'sift.example.com' });
    expect(keyless.status).toBe(200);
  });

  it('still refuses a foreign origin\'s WebSocket and gives it no CORS header; the same origin behind a proxy that keeps Host is its own', async () => {
    expect(await tryUpgrade(wsUrl(t), { origin: FOREIGN })).toMatchObject({ opened: false, status: 403 });
    const foreign = await rawRequest(t.api.url, 'POST', '/graphql', { ...json, origin: FOREIGN, authorization: `Bearer ${key}` }, query);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    expect(await tryUpgrade(wsUrl(t), { origin: 'https://sift.example.com', host: 'sift.example.com' })).toEqual({ opened: true });
  });
});
