import net from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import type { Redis } from 'ioredis';
import WebSocket from 'ws';
import { ApiKeyStore } from '../../src/auth/api-key-store';
import type { Scope } from '../../src/auth/principal';
import { startApi } from '../../src/app/api';
import { KEY_RECHECK_MS } from '../../src/http/graphql-ws';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/logger';
import { redisKeys } from '../../src/redis/keys';
import { eventually, startTestApi, type TestApi } from '../support/api';
import { testRedis } from '../support/redis';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };

interface GraphQLAnswer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions: { code: string; reason?: string } }[] };
}

/** Opens a graphql-ws client on the API at `url` with `key` in connection_init; `closed` resolves with the close code when the server closes it. */
function openSocket(url: string, key: string | undefined): { client: Client; closed: Promise<number> } {
  let onClosed!: (code: number) => void;
  const closed = new Promise<number>((resolve) => (onClosed = resolve));
  const client = createClient({
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    connectionParams: key === undefined ? {} : { authorization: `Bearer ${key}` },
    on: { closed: (event) => onClosed((event as { code: number }).code) },
  });
  return { client, closed };
}

describe('API keys: who may do what', () => {
  let t: TestApi;
  let worker: WorkerProcess;
  const keys: Record<'admin' | 'alice' | 'bob' | 'predictOnly' | 'revoked' | 'urgent', { key: string; id: string }> = {} as never;
  // Made in beforeAll, not here: a run filtered to other tests skips this block's hooks, and a
  // client made here would keep Jest from exiting.
  let redis: Redis;

  beforeAll(async () => {
    redis = testRedis();
    t = await startTestApi({ ...shared, SIFT_AUTH: 'keys' });
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    const store = new ApiKeyStore(redis, redisKeys(t.prefix));
    const make = async (name: keyof typeof keys, scopes: Scope[]) => {
      const { key, info } = await store.create(name, scopes);
      keys[name] = { key, id: info.id };
    };
    await make('admin', ['admin']);
    await make('alice', ['predict', 'batches']);
    await make('bob', ['predict', 'batches']);
    await make('predictOnly', ['predict']);
    await make('revoked', ['predict', 'batches']);
    await make('urgent', ['batches', 'priority']);
  });
  afterAll(async () => {
    redis.disconnect();
    await worker.stop();
    await t.stop();
  });

  function graphql(query: string, variables: Record<string, unknown> = {}, key?: string): Promise<GraphQLAnswer> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key !== undefined) headers.authorization = `Bearer ${key}`;
    return fetch(`${t.api.url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) }).then(async (r) => ({ status: r.status, body: (await r.json()) as GraphQLAnswer['body'] }));
  }

  async function http(method: string, path: string, key?: string, body?: string): Promise<{ status: number; json: { error?: { code: string; message: string } } & Record<string, unknown>; headers: Headers }> {
    const headers: Record<string, string> = { 'content-type': 'text/csv' };
    if (key !== undefined) headers.authorization = `Bearer ${key}`;
    const response = await fetch(`${t.api.url}${path}`, { method, headers, body });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : {}, headers: response.headers };
  }

  const socket = (key: string | undefined) => openSocket(t.api.url, key);

  function subscribe(client: Client, query: string, variables: Record<string, unknown>): Promise<{ data?: unknown; errors?: { extensions: { code: string; reason?: string } }[] }[]> {
    return new Promise((resolve, reject) => {
      const results: { data?: unknown; errors?: { extensions: { code: string; reason?: string } }[] }[] = [];
      client.subscribe({ query, variables }, { next: (r) => results.push(r as never), error: (e) => (Array.isArray(e) ? resolve([{ errors: e as never }]) : reject(e)), complete: () => resolve(results) });
    });
  }

  async function submit(key: string, texts: string[], idempotencyKey?: string): Promise<string> {
    const answer = await graphql('mutation($input: SubmitBatchInput!) { submitBatch(input: $input) { id } }', { input: { texts, idempotencyKey } }, key);
    expect(answer.body.errors).toBeUndefined();
    return (answer.body.data!.submitBatch as { id: string }).id;
  }

  it('without a key, or with a wrong one: 401 and UNAUTHENTICATED on every route and operation; the WebSocket closes with 4401', async () => {
    for (const key of [undefined, 'sift_0123456789abcdef_notakeynotakeynotakeynotakeynotakeynotakey', 'nonsense']) {
      const answer = await graphql('{ predict(text: "hello") { label } }', {}, key);
      expect(answer.status).toBe(401);
      expect(answer.body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(answer.body.data ?? null).toBeNull();
      for (const [method, path] of [['POST', '/batches'], ['GET', '/batches/anything'], ['GET', '/batches/anything/results.csv'], ['GET', '/metrics']]) {
        const refused = await http(method, path, key, method === 'POST' ? 'text\nhello\n' : undefined);
        expect({ path, status: refused.status, code: refused.json.error?.code }).toEqual({ path, status: 401, code: 'UNAUTHENTICATED' });
        expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
      const { client, closed } = socket(key);
      expect(await closed).toBe(4401);
      await client.dispose();
    }
    for (const query of ['mutation { submitBatch(input: { texts: ["a"] }) { id } }', 'mutation { cancelBatch(id: "x") { id } }', '{ batches { edges { cursor } } }', '{ batch(id: "x") { id } }', '{ models { name } }', '{ cachedPrediction(text: "a") { label } }']) {
      const answer = await graphql(query);
      expect({ query, status: answer.status, code: answer.body.errors?.[0].extensions.code }).toEqual({ query, status: 401, code: 'UNAUTHENTICATED' });
    }
    // Health checks and the web page need no key.
    expect((await fetch(`${t.api.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.api.url}/`)).status).toBe(200);
  });

  it('a key without the scope: 403 and FORBIDDEN', async () => {
    const submitted = await graphql('mutation { submitBatch(input: { texts: ["a"] }) { id } }', {}, keys.predictOnly.key);
    expect(submitted.status).toBe(403);
    expect(submitted.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
    expect(submitted.body.errors?.[0].message).toMatch(/does not have the batches scope/);
    expect((await http('POST', '/batches', keys.predictOnly.key, 'text\nhello\n')).json.error?.code).toBe('FORBIDDEN');
    expect((await http('POST', '/batches', keys.predictOnly.key, 'text\nhello\n')).status).toBe(403);
    expect((await http('GET', '/metrics', keys.alice.key)).status).toBe(403);
    // The admin key reads the metrics, which are the Prometheus text format, not JSON.
    const metrics = await fetch(`${t.api.url}/metrics`, { headers: { authorization: `Bearer ${keys.admin.key}` } });
    expect([metrics.status, metrics.headers.get('content-type')]).toEqual([200, 'text/plain; version=0.0.4; charset=utf-8']);
    // The scope it has works.
    const predicted = await graphql('{ predict(text: "hello") { label } }', {}, keys.predictOnly.key);
    expect(predicted.status).toBe(200);
    expect(predicted.body.errors).toBeUndefined();
    const { client } = socket(keys.predictOnly.key);
    const events = await subscribe(client, 'subscription($id: ID!) { batchProgress(id: $id) { batch { id } } }', { id: 'x' });
    expect(events[0].errors?.[0].extensions.code).toBe('FORBIDDEN');
    await client.dispose();
  });

  it('HIGH takes the priority scope: a batches key is refused with 403 FORBIDDEN before anything is stored; NORMAL and LOW pass', async () => {
    const ownBatches = async (key: string) => ((await graphql('{ batches(first: 100) { edges { cursor } } }', {}, key)).body.data!.batches as { edges: unknown[] }).edges.length;
    const before = await ownBatches(keys.alice.key);
    const inline = await graphql('mutation { submitBatch(input: { texts: ["a"], priority: HIGH }) { id } }', {}, keys.alice.key);
    expect(inline.status).toBe(403);
    expect(inline.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
    expect(inline.body.errors?.[0].message).toMatch(/cannot submit HIGH batches.*needs the priority scope.*Submit it as NORMAL/);
    const uploaded = await http('POST', '/batches?priority=high', keys.alice.key, 'text\nhello\n');
    expect([uploaded.status, uploaded.json.error?.code]).toEqual([403, 'FORBIDDEN']);
    expect(uploaded.json.error?.message).toMatch(/needs the priority scope/);
    expect(await ownBatches(keys.alice.key)).toBe(before);
    // The other priorities need no more than the batches scope.
    for (const priority of ['NORMAL', 'LOW']) expect((await http('POST', `/batches?priority=${priority}`, keys.alice.key, 'text\nhello\n')).status).toBe(202);
    // A key with the scope, and an admin key, submit HIGH.
    for (const key of [keys.urgent.key, keys.admin.key]) {
      const answer = await http('POST', '/batches?priority=HIGH', key, 'text\nhello\n');
      expect([answer.status, answer.json.priority]).toEqual([202, 'HIGH']);
    }
  });

  it('a key given the priority scope (sift keys update) submits HIGH within a few seconds, the same key', async () => {
    const store = new ApiKeyStore(redis, redisKeys(t.prefix));
    const { key, info } = await store.create('upgraded', ['batches']);
    const high = () => http('POST', '/batches?priority=HIGH', key, 'text\nhello\n');
    expect((await high()).status).toBe(403);
    expect(await store.setScopes(info.id, ['batches', 'priority'])).toBe('updated');
    // The API trusts what it verified for 2 s (the authenticator's cache).
    await eventually(async () => (await high()).status === 202, 5000, 'HIGH to be taken');
  });

  it('an upload refused for its key is not read on: a client that floods it after the 401 or 403 only fills the sockets', async () => {
    const port = Number(new URL(t.api.url).port);
    for (const [key, status] of [[undefined, 401], [keys.predictOnly.key, 403]] as const) {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      let answer = '';
      socket.on('data', (data: Buffer) => (answer += data.toString()));
      socket.write(`POST /batches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n${key ? `Authorization: Bearer ${key}\r\n` : ''}\r\n`);
      const piece = 'text\n'.repeat(16 * 1024);
      let sent = 0;
      const flood = () => {
        while (socket.writable && socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`)) sent += piece.length;
      };
      socket.on('drain', flood);
      flood();
      // A second of flooding: read on without end, the server took gigabytes (17.7 GB in 15 s in a review).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      socket.destroy();
      expect({ key: key === undefined ? 'none' : 'predict only', answer: answer.split('\r\n')[0] }).toEqual({ key: key === undefined ? 'none' : 'predict only', answer: `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}` });
      expect(sent).toBeLessThan(64 * 1024 * 1024);
    }
  });

  it('a GraphQL request with a body (POST, GET, PUT) without a valid key is refused on its headers: its body is not awaited, and 100 Continue is never sent', async () => {
    const port = Number(new URL(t.api.url).port);
    // Within the body limit (at least 1 MiB), so that only the key can refuse it.
    const bigBody = 900 * 1024;
    for (const [method, authorization, expectContinue] of [
      ['POST', undefined, false],
      ['POST', undefined, true],
      ['POST', 'Bearer not-a-key', false],
      // express.json reads any method's body: a GET or PUT with one was read whole without a key.
      ['GET', undefined, false],
      ['PUT', undefined, true],
    ] as const) {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      let answer = '';
      socket.on('data', (data: Buffer) => (answer += data.toString()));
      // Headers for a 900 KB body, then only its first bytes: before, the API waited for (and would
      // have held) the whole body before it asked for the key.
      socket.write(
        `${method} /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${bigBody}\r\n` +
          `${expectContinue ? 'Expect: 100-continue\r\n' : ''}${authorization ? `Authorization: ${authorization}\r\n` : ''}\r\n`,
      );
      if (!expectContinue) socket.write('{"query":"{ models { name } }","variables":{"padding":"');
      await eventually(async () => answer.includes('\r\n\r\n{'), 5000, 'the refusal');
      socket.destroy();
      const [statusLine] = answer.split('\r\n');
      expect({ method, authorization, expectContinue, statusLine, continued: answer.includes('100 Continue') }).toEqual({ method, authorization, expectContinue, statusLine: 'HTTP/1.1 401 Unauthorized', continued: false });
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as GraphQLAnswer['body'];
      expect(body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
      // As Apollo answers the same refusal: the status in the status line, not in the body.
      expect(body.errors?.[0].extensions).not.toHaveProperty('http');
      expect(answer.toLowerCase()).toContain('www-authenticate: bearer');
    }
    // A valid key's POST goes on as ever, 100 Continue included.
    const answer = await graphql('{ models { name } }', {}, keys.alice.key);
    expect(answer.status).toBe(200);
  });

  it('a WebSocket that sends more than 64 KB before its connection_init is answered is closed with 1009', async () => {
    const ws = new WebSocket(`${t.api.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('error', () => undefined);
    await new Promise((resolve) => ws.once('open', resolve));
    // One message of 512 KB (under the socket's maxPayload, the body limit of at least 1 MiB), no key.
    ws.send(JSON.stringify({ type: 'connection_init', payload: { padding: 'x'.repeat(512 * 1024) } }));
    expect(await closed).toBe(1009);
    // A client that speaks the protocol is not affected.
    const { client } = socket(keys.alice.key);
    const results = await subscribe(client, '{ models { name } }', {});
    expect(results[0].errors).toBeUndefined();
    await client.dispose();
  });

  it("another key's batch answers exactly as an unknown id does, everywhere; an admin key sees it", async () => {
    const id = await submit(keys.alice.key, ['warm', 'cold', 'hot']);
    await eventually(async () => ((await graphql('query($id: ID!) { batch(id: $id) { status } }', { id }, keys.alice.key)).body.data!.batch as { status: string } | null)?.status === 'COMPLETED', 20_000, 'the batch');
    const unknown = 'mx0000000-000000000000';
    for (const target of [id, unknown]) {
      expect((await graphql('query($id: ID!) { batch(id: $id) { id } }', { id: target }, keys.bob.key)).body.data!.batch).toBeNull();
      for (const path of [`/batches/${target}`, `/batches/${target}/results.csv`, `/batches/${target}/results.jsonl`]) {
        const answer = await http('GET', path, keys.bob.key);
        expect({ path: path.replace(target, 'ID'), status: answer.status, code: answer.json.error?.code, message: answer.json.error?.message.replace(target, 'ID') }).toEqual({
          path: path.replace(target, 'ID'),
          status: 404,
          code: 'UNKNOWN_BATCH',
          message: 'No batch has the id "ID" (or it expired).',
        });
      }
      const cancelled = await graphql('mutation($id: ID!) { cancelBatch(id: $id) { id } }', { id: target }, keys.bob.key);
      expect(cancelled.body.errors?.[0].extensions.reason).toBe('UNKNOWN_BATCH');
      const { client } = socket(keys.bob.key);
      const events = await subscribe(client, 'subscription($id: ID!) { batchProgress(id: $id) { batch { id } } }', { id: target });
      expect(events[0].errors?.[0].extensions.reason).toBe('UNKNOWN_BATCH');
      await client.dispose();
    }
    const listed = async (key: string) => ((await graphql('{ batches(first: 100) { edges { node { id } } } }', {}, key)).body.data!.batches as { edges: { node: { id: string } }[] }).edges.map((e) => e.node.id);
    expect(await listed(keys.alice.key)).toContain(id);
    expect(await listed(keys.bob.key)).not.toContain(id);
    expect(await listed(keys.admin.key)).toContain(id);
    expect((await http('GET', `/batches/${id}`, keys.admin.key)).status).toBe(200);
    // The status filter reads the owner's own index too.
    const completed = await graphql('{ batches(first: 100, status: COMPLETED) { edges { node { id status } } } }', {}, keys.alice.key);
    const nodes = (completed.body.data!.batches as { edges: { node: { id: string; status: string } }[] }).edges.map((e) => e.node);
    expect(nodes.map((n) => n.id)).toContain(id);
    expect(nodes.every((n) => n.status === 'COMPLETED')).toBe(true);
    expect(((await graphql('{ batches(first: 100, status: COMPLETED) { edges { node { id } } } }', {}, keys.bob.key)).body.data!.batches as { edges: unknown[] }).edges).toEqual([]);
  }, 60_000);

  it("idempotency keys are each key's own", async () => {
    const a = await submit(keys.alice.key, ['one'], 'shared-idempotency-key');
    const b = await submit(keys.bob.key, ['two'], 'shared-idempotency-key');
    expect(a).not.toBe(b);
    expect(await submit(keys.alice.key, ['one'], 'shared-idempotency-key')).toBe(a);
  });

  it('a revoked key stops working within a few seconds, on a socket opened before too', async () => {
    expect((await graphql('{ models { name } }', {}, keys.revoked.key)).status).toBe(200);
    const before = socket(keys.revoked.key);
    expect(await subscribe(before.client, '{ models { name } }', {})).toEqual([{ data: { models: expect.any(Array) } }]);
    expect(await new ApiKeyStore(redis, redisKeys(t.prefix)).revoke(keys.revoked.id)).toBe(true);
    await eventually(async () => (await graphql('{ models { name } }', {}, keys.revoked.key)).status === 401, 10_000, 'the key to be refused');
    // The socket opened while the key was good may start nothing more: its next operation ends it.
    const refused = await subscribe(before.client, '{ models { name } }', {}).catch((error: unknown) => error);
    expect(await before.closed).toBe(4401);
    expect(refused).toBeDefined();
    await before.client.dispose();
    const { client, closed } = socket(keys.revoked.key);
    expect(await closed).toBe(4401);
    await client.dispose();
  });

  it('only a hash of each key is stored: Redis holds no key', async () => {
    const dump = JSON.stringify(await Promise.all(Object.values(keys).map(({ id }) => redis.hgetall(redisKeys(t.prefix).apiKey(id)))));
    for (const { key } of Object.values(keys)) expect(dump).not.toContain(key.slice('sift_'.length + 17));
    expect(keys.alice.key).toMatch(/^sift_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  });
});

describe("a revoked key's running subscriptions", () => {
  // No worker: the batches stay queued, so their progress subscriptions stay open until ended.
  let t: TestApi;
  let redis: Redis;

  beforeAll(async () => {
    redis = testRedis();
    t = await startTestApi({ ...shared, SIFT_AUTH: 'keys' });
  });
  afterAll(async () => {
    redis.disconnect();
    await t.stop();
  });

  /** A batch of `texts` submitted with `key` (over GraphQL); it stays queued, as no worker runs here. */
  async function submitAs(key: string, texts: string[]): Promise<{ id: string }> {
    const answer = await fetch(`${t.api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: 'mutation($texts: [String!]!) { submitBatch(input: { texts: $texts }) { id } }', variables: { texts } }),
    }).then((r) => r.json() as Promise<{ data: { submitBatch: { id: string } } }>);
    return answer.data.submitBatch;
  }

  /**
   * What `settled` gives, or `still <what> N ms after the change` if the key's next re-check
   * passes first: KEY_RECHECK_MS, plus the authenticator's caching of the key (2 s), plus slack
   * for a busy machine.
   */
  function byNextRecheck<T>(settled: Promise<T>, what: string): Promise<T | string> {
    const bound = KEY_RECHECK_MS + 2000 + 5000;
    const late = new Promise<string>((resolve) => setTimeout(() => resolve(`still ${what} ${bound} ms after the change`), bound).unref());
    return Promise.race([settled, late]);
  }

  /** How a followed download ends: `ended` when the server ends it, `cut: ...` when it is cut off. */
  function downloadEnd(response: Response): Promise<string> {
    return response.text().then(
      () => 'ended',
      (error: Error) => `cut: ${error.message}`,
    );
  }

  /** A key's own queued batch, watched over a socket of its own: its first event, and when the socket closes, its code. */
  async function watching(name: string): Promise<{ id: string; closed: Promise<number>; ended: Promise<string>; client: Client }> {
    const { key, info } = await new ApiKeyStore(redis, redisKeys(t.prefix)).create(name, ['batches']);
    const submitted = await submitAs(key, ['one', 'two']);
    const batchId = submitted.id;
    const { client, closed } = openSocket(t.api.url, key);
    let first!: () => void;
    const snapshot = new Promise<void>((resolve) => (first = resolve));
    const ended = new Promise<string>((resolve) =>
      client.subscribe({ query: 'subscription($id: ID!) { batchProgress(id: $id) { batch { id status } } }', variables: { id: batchId } }, { next: () => first(), error: () => resolve('error'), complete: () => resolve('complete') }),
    );
    await snapshot;
    return { id: info.id, closed, ended, client };
  }

  it('end with the socket, closed with 4401 within seconds of the revoke, while another key goes on watching', async () => {
    const revoked = await watching('revoked-watcher');
    const other = await watching('other-watcher');
    try {
      expect(await new ApiKeyStore(redis, redisKeys(t.prefix)).revoke(revoked.id)).toBe(true);
      expect(await byNextRecheck(revoked.closed, 'open')).toBe(4401);
      expect(await revoked.ended).toBe('error');
      // A round later the other key's subscription is still open: nothing ended it.
      await new Promise((resolve) => setTimeout(resolve, KEY_RECHECK_MS + 500));
      expect(await Promise.race([other.ended, other.closed.then(() => 'closed'), Promise.resolve('open')])).toBe('open');
    } finally {
      await revoked.client.dispose();
      await other.client.dispose();
    }
  }, 40_000);

  it('end with the socket, closed with 4403, when the key loses the batches scope', async () => {
    const store = new ApiKeyStore(redis, redisKeys(t.prefix));
    const { key, info } = await store.create('narrowed-watcher', ['predict', 'batches']);
    const submitted = await submitAs(key, ['one']);
    const { client, closed } = openSocket(t.api.url, key);
    let first!: () => void;
    const snapshot = new Promise<void>((resolve) => (first = resolve));
    client.subscribe({ query: 'subscription($id: ID!) { batchProgress(id: $id) { batch { id } } }', variables: { id: submitted.id } }, { next: () => first(), error: () => undefined, complete: () => undefined });
    await snapshot;
    try {
      expect(await store.setScopes(info.id, ['predict'])).toBe('updated');
      expect(await byNextRecheck(closed, 'open')).toBe(4403);
    } finally {
      await client.dispose();
    }
  }, 40_000);

  it.each([
    ['revoked', (store: ApiKeyStore, id: string) => store.revoke(id)],
    ['left without the batches scope', (store: ApiKeyStore, id: string) => store.setScopes(id, ['predict'])],
  ])('a download that follows the batch is cut off within seconds once its key is %s', async (_what, change) => {
    const store = new ApiKeyStore(redis, redisKeys(t.prefix));
    const { key, info } = await store.create(`follower-${_what}`, ['predict', 'batches']);
    const submitted = await submitAs(key, ['one', 'two']);
    const response = await fetch(`${t.api.url}/batches/${submitted.id}/results.csv?follow=true`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(200);
    // No worker runs: the batch stays queued and the download waits for rows, until the key changes.
    const read = downloadEnd(response);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await change(store, info.id);
    expect(await byNextRecheck(read, 'streaming')).toMatch(/^cut: /);
  }, 40_000);

  it("a download that follows another key's batch is cut off once the admin key that opened it loses admin", async () => {
    const store = new ApiKeyStore(redis, redisKeys(t.prefix));
    const owner = await store.create('follow-owner', ['batches']);
    const admin = await store.create('follow-admin', ['batches', 'admin']);
    const submitted = await submitAs(owner.key, ['one', 'two']);
    const response = await fetch(`${t.api.url}/batches/${submitted.id}/results.csv?follow=true`, { headers: { authorization: `Bearer ${admin.key}` } });
    expect(response.status).toBe(200);
    const read = downloadEnd(response);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Still a batches key, but no longer one that sees other keys' batches: before, it streamed on.
    expect(await store.setScopes(admin.info.id, ['batches'])).toBe('updated');
    expect(await byNextRecheck(read, 'streaming')).toMatch(/^cut: /);
  }, 40_000);

  it("end server-side too, for a client that stopped reading: the batch's Redis subscription goes within seconds", async () => {
    const store = new ApiKeyStore(redis, redisKeys(t.prefix));
    const { key, info } = await store.create('deaf-watcher', ['batches']);
    const submitted = await submitAs(key, ['one']);
    const channel = redisKeys(t.prefix).progressChannel(submitted.id);
    const subscribers = async () => Number(((await redis.pubsub('NUMSUB', channel)) as [string, number])[1]);
    // graphql-ws's protocol by hand, so the client can stop reading once its first event is in.
    const socket = new WebSocket(`${t.api.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('open', () => resolve()));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } }));
    const first = new Promise<void>((resolve) =>
      socket.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString()) as { type: string };
        if (message.type === 'connection_ack') socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `subscription { batchProgress(id: "${submitted.id}") { batch { status } } }` } }));
        if (message.type === 'next') resolve();
      }),
    );
    await first;
    expect(await subscribers()).toBe(1);
    (socket as unknown as { _socket: { pause(): void } })._socket.pause(); // reads nothing more: the server's close frame is never answered
    expect(await store.revoke(info.id)).toBe(true);
    const revokedAt = Date.now();
    await eventually(async () => (await subscribers()) === 0, KEY_RECHECK_MS + 2000 + 8000, "the batch's Redis subscription to go");
    // The check's round, the key's 2 s of trust, the 1 s grace: well under ws's 30 s close timeout.
    expect(Date.now() - revokedAt).toBeLessThan(KEY_RECHECK_MS + 2000 + 8000);
    socket.terminate();
  }, 40_000);
});

describe('safe defaults', () => {
  it('listens on 127.0.0.1 by default, with auth off', () => {
    const config = loadConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.auth).toBeNull();
  });

  it('refuses to start on a HOST other machines reach when SIFT_AUTH is not set, saying how to make a key', async () => {
    const logs: string[] = [];
    const config = loadConfig({ ...shared, HOST: '0.0.0.0', PORT: '0' });
    const refused = await startApi(config, createLogger('info', 'api', (line) => logs.push(line))).catch((error: Error) => error);
    expect((refused as Error).message).toMatch(/HOST=0\.0\.0\.0 lets other machines reach this server, and SIFT_AUTH is not set\. Make an API key \(sift keys create/);
    expect(logs.join('')).not.toMatch(/Sift is ready/);
  });
});
