import http from 'node:http';
import { createTestKey, startTestApi, type TestApi } from '../support/api';
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

  it('every other request gets 100 Continue at once, as before', async () => {
    const graphql = await expectingPost(`${t.api.url}/graphql`, { 'content-type': 'application/json', ...t.headers }, JSON.stringify({ query: '{ __typename }' }));
    expect([graphql.status, graphql.continued]).toEqual([200, true]);
    expect(JSON.parse(graphql.text)).toEqual({ data: { __typename: 'Query' } });
  });
});
