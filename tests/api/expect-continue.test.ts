import http from 'node:http';
import net from 'node:net';
import { createTestKey, freePort, startTestApi, type TestApi } from '../support/api';
import { startApiProcess } from '../support/api-process';
import { testRedis } from '../support/redis';
import { tinyModelsDir } from '../support/tiny-models';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_AUTH: 'keys', SIFT_MAX_UPLOAD_BYTES: '100000' };

interface Outcome {
  status: number;
  /** Whether the server said 100 Continue (and so the body was sent). */
  continued: boolean;
  text: string;
}

/**
 * POSTs `body` with `Expect: 100-continue` and sends it only once the server answers 100 Continue,
 * as curl does before a large body (without curl's fallback of sending it anyway after a second).
 * A final answer before that is the outcome; the body is then never sent.
 */
function expectingPost(url: string, headers: Record<string, string>, body: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, expect: '100-continue', 'content-length': String(Buffer.byteLength(body)) } });
    let continued = false;
    req.once('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (piece: string) => (text += piece));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, continued, text });
        // A body never sent leaves the request unfinished: the connection cannot be used again.
        if (!continued) req.destroy();
      });
    });
    req.on('error', (error) => (continued ? reject(error) : undefined));
    req.flushHeaders();
  });
}

const csv = 'id,text\n1,good\n2,bad\n3,fine\n';

/**
 * A raw request over a socket, `body` (when given) written right after the head without waiting
 * for anything; resolves with what came back until the server closed the connection, `ms` passed,
 * or (`untilAnswer`) an answer's head arrived.
 */
function rawRequest(port: number, head: string, options: { body?: Buffer; untilAnswer?: boolean; ms?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(head);
      if (options.body) socket.write(options.body);
    });
    let received = '';
    socket.on('data', (data: Buffer) => {
      received += data.toString();
      if (options.untilAnswer && received.includes('\r\n\r\n')) socket.destroy();
    });
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), options.ms ?? 2000);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

describe('Expect: 100-continue on uploads', () => {
  let t: TestApi;
  let predictOnly: string;
  let batchesOnly: string;

  beforeAll(async () => {
    t = await startTestApi(shared);
    predictOnly = await createTestKey(t.prefix, 'predict-only', ['predict']);
    batchesOnly = await createTestKey(t.prefix, 'batches-only', ['batches']);
  });
  afterAll(async () => {
    await t.stop();
  });

  const upload = (headers: Record<string, string>, query = '', body = csv) => expectingPost(`${t.api.url}/batches${query}`, { 'content-type': 'text/csv', ...headers }, body);

  it('refusals known from the headers come before 100 Continue, so the body is never sent', async () => {
    const noKey = await upload({});
    expect([noKey.status, noKey.continued]).toEqual([401, false]);
    expect(noKey.text).toContain('UNAUTHENTICATED');

    const noScope = await upload({ authorization: `Bearer ${predictOnly}` });
    expect([noScope.status, noScope.continued]).toEqual([403, false]);

    const mediaType = await upload({ ...t.headers, 'content-type': 'application/pdf' });
    expect([mediaType.status, mediaType.continued]).toEqual([415, false]);

    const high = await upload({ authorization: `Bearer ${batchesOnly}` }, '?priority=HIGH');
    expect([high.status, high.continued]).toEqual([403, false]);
    expect(high.text).toContain('priority');

    const tooLarge = await upload(t.headers, '', `id,text\n${'1,x\n'.repeat(30_000)}`);
    expect([tooLarge.status, tooLarge.continued]).toEqual([413, false]);
    expect(tooLarge.text).toContain('UPLOAD_TOO_LARGE');

    const badOption = await upload(t.headers, '?textColum=text');
    expect([badOption.status, badOption.continued]).toEqual([400, false]);
  });

  it('an upload whose headers pass gets 100 Continue, sends its body and is queued', async () => {
    const accepted = await upload(t.headers, '?idColumn=id');
    expect([accepted.status, accepted.continued]).toEqual([202, true]);
    expect(JSON.parse(accepted.text)).toMatchObject({ status: 'QUEUED', total: 3 });
  });

  it('a refused client that sent its body without waiting still reads its answer', async () => {
    // RFC 9110 lets a client send its body without waiting for 100 Continue. Node closes such a
    // connection once the answer is written; closing it under body bytes still coming reset it,
    // and the client lost the answer (EPIPE in 17 of 30 tries in a review). Against an API in a
    // process of its own, as the review found it: within one process the race hardly shows.
    const api = await startApiProcess(await freePort(), { ...shared, SIFT_KEY_PREFIX: t.prefix });
    try {
      const { port } = new URL(api.url);
      const bodyBytes = 20 * 1024 * 1024;
      const head = `POST /batches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\nContent-Length: ${bodyBytes}\r\nExpect: 100-continue\r\nAuthorization: Bearer nope\r\n\r\n`;
      const answers: string[] = [];
      for (let i = 0; i < 20; i++) answers.push((await rawRequest(Number(port), head, { body: Buffer.alloc(bodyBytes, 'x'), untilAnswer: true })).slice(0, 24));
      expect(answers).toEqual(Array(20).fill('HTTP/1.1 401 Unauthorize'));
    } finally {
      await api.stop();
    }
  });

  it('holds back 100 Continue for an upload named in absolute form too (POST http://host/batches)', async () => {
    const { port } = new URL(t.api.url);
    const answer = await rawRequest(
      Number(port),
      `POST http://127.0.0.1:${port}/batches?idColumn=id HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\nAuthorization: Bearer nope\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).not.toContain('100 Continue');
  });

  it('a Content-Length over the limit is refused before anything is counted against the batch rate', async () => {
    const redis = testRedis();
    try {
      // Every rate counter and its value: a batch counted against the rate changes one.
      const rateCounters = async (): Promise<Record<string, string | null>> => {
        const keys = (await redis.keys(`${t.prefix}rl:*`)).sort();
        const values = keys.length === 0 ? [] : await redis.mget(keys);
        return Object.fromEntries(keys.map((key, i) => [key, values[i]]));
      };
      // A batch counted first, so that the counters exist.
      expect((await upload(t.headers, '?idColumn=id')).status).toBe(202);
      const before = await rateCounters();
      expect(Object.keys(before).length).toBeGreaterThan(0);
      const refused = await upload(t.headers, '', `id,text\n${'1,x\n'.repeat(30_000)}`);
      expect([refused.status, refused.continued]).toEqual([413, false]);
      expect(await rateCounters()).toEqual(before);
    } finally {
      redis.disconnect();
    }
  });

  it('every other request gets 100 Continue at once, as before', async () => {
    const graphql = await expectingPost(`${t.api.url}/graphql`, { 'content-type': 'application/json', ...t.headers }, JSON.stringify({ query: '{ __typename }' }));
    expect([graphql.status, graphql.continued]).toEqual([200, true]);
    expect(JSON.parse(graphql.text)).toEqual({ data: { __typename: 'Query' } });
  });
});
