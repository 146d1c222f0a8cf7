import { getIntrospectionQuery, type GraphQLFormattedError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startTestApi, type TestApi } from '../support/api';
import { BUNDLED_MODELS_DIR } from '../support/paths';
import { modelRunCounts } from '../support/prometheus';

// The bundled models, with every default: the body limit is then what production has (8 MB with
// SIFT_MAX_TEXTS_PER_REQUEST=1000), so the largest bomb reaches GraphQL rather than Express's limit.
const ENV = { SIFT_MODELS_DIR: BUNDLED_MODELS_DIR, SIFT_DEFAULT_MODEL: 'sentiment' };

interface Answer {
  status?: number;
  data?: Record<string, unknown> | null;
  errors?: GraphQLFormattedError[];
}
interface Request {
  query: string;
  variables?: Record<string, unknown>;
}

const texts = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix} text number ${i}`);
const unique = (what: string) => `${what} ${Date.now()} ${Math.random()}`;

/** The three requests measured in the issue. */
function bombs(): [string, Request][] {
  const aliases = (n: number, field: (i: number) => string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field(i)}`).join(' ')} }`;
  return [
    [
      '1,000 aliases of predictMany over one 1,000-text variable',
      {
        query: `query($t: [String!]!) ${aliases(1000, () => 'predictMany(texts: $t) { label }')}`,
        variables: { t: texts(1000, unique('bomb')) },
      },
    ],
    ['10,000 aliases of predict', { query: aliases(10_000, (i) => `predict(text: "${unique('alias')} ${i}") { label }`) }],
    ['300,000 aliased __typename (5.6 MB)', { query: aliases(300_000, () => '__typename') }],
  ];
}

/** Past each limit, within all the others (the token limit is 5,000). */
const PAST_ONE_LIMIT: [string, string, Request][] = [
  [
    '100 aliases of predictMany (1,100 tokens)',
    'SIFT_MAX_ALIASES',
    { query: `query($t: [String!]!) { ${Array.from({ length: 100 }, (_, i) => `a${i}: predictMany(texts: $t) { label }`).join(' ')} }`, variables: { t: ['a fine film'] } },
  ],
  [
    '30 aliases of predictMany over 1,000 texts: 30,000 texts',
    'SIFT_MAX_TEXTS_PER_REQUEST',
    { query: `query($t: [String!]!) { ${Array.from({ length: 30 }, (_, i) => `a${i}: predictMany(texts: $t) { label }`).join(' ')} }`, variables: { t: texts(1000, 'thirty') } },
  ],
  // A review's body of millions of short texts: each coercion of the list held the request thread 0.4 s before its length was checked.
  ['a million empty texts in one variable', 'SIFT_MAX_TEXTS_PER_REQUEST', { query: 'query($t: [String!]!) { a: predictMany(texts: $t) { label } }', variables: { t: Array.from({ length: 1_000_000 }, () => '') } }],
  // Sift's own types are at most 7 deep; introspection's __type is not, and only __schema is left to graphql-js's rule.
  ['a query 14 fields deep', 'SIFT_MAX_QUERY_DEPTH', { query: `{ __type(name: "Query") { fields { type { ${'ofType { '.repeat(10)}name${' }'.repeat(10)} } } } }` }],
  ['21 directives', 'SIFT_MAX_DIRECTIVES', { query: `{ models { ${Array.from({ length: 21 }, () => 'name @include(if: true)').join(' ')} } }` }],
  // 75 bytes that read 100,000 stored rows: 200 MB answered in a review, Redis then too busy for other keys.
  ['a results page of 1,000 under each of 100 batches', 'SIFT_MAX_RESULT_ROWS_PER_REQUEST', { query: '{ batches(first: 100) { edges { node { results(limit: 1000) { id text } } } } }' }],
];

const SUM_QUERY = 'query($t: [String!]!, $u: [String!]!) { a: predictMany(texts: $t) { label } b: predictMany(texts: $u) { label } }';

/** GraphQL over HTTP and over graphql-ws, the same requests. */
function transports(t: () => TestApi) {
  let socket: Client | undefined;
  const overHttp = async (request: Request): Promise<Answer> => {
    const response = await fetch(`${t().api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    return { status: response.status, ...((await response.json()) as Answer) };
  };
  const overSocket = async (request: Request): Promise<Answer> => {
    socket ??= createClient({ url: `${t().api.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    try {
      const results: Answer[] = [];
      for await (const result of socket.iterate(request)) results.push(result as Answer);
      return results[0];
    } catch (error) {
      if (Array.isArray(error)) return { errors: error as GraphQLFormattedError[] };
      throw error;
    }
  };
  return {
    list: [
      ['HTTP', overHttp],
      ['WebSocket', overSocket],
    ] as [string, (request: Request) => Promise<Answer>][],
    close: async () => {
      await socket?.dispose();
    },
  };
}

/** Texts the models ran since the server started (/metrics). */
async function modelRows(t: TestApi): Promise<number> {
  return (await modelRunCounts(t.api.url)).rows;
}

describe('limits on what one GraphQL request may ask for (default settings, loopback HOST)', () => {
  let t: TestApi;
  const sockets = transports(() => t);
  beforeAll(async () => {
    t = await startTestApi(ENV);
  });
  afterAll(async () => {
    await sockets.close();
    await t.stop();
  });

  describe.each(sockets.list)('over %s', (transport, send) => {
    it.each(bombs())('refuses %s with QUERY_TOO_LARGE before any model runs, and answers others meanwhile', async (_name, bomb) => {
      const before = await modelRows(t);
      const text = unique(`a gorgeous, witty film (${transport})`);
      const [refused, other] = await Promise.all([send(bomb), send({ query: 'query($text: String!) { predict(text: $text) { text label } }', variables: { text } })]);
      expect(refused.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/^Query too large: .*SIFT_MAX_QUERY_TOKENS/), extensions: { code: 'QUERY_TOO_LARGE', setting: 'SIFT_MAX_QUERY_TOKENS', limit: 5000 } })]);
      expect(refused.data).toBeUndefined();
      if (transport === 'HTTP') expect(refused.status).toBe(400);
      expect(other.errors).toBeUndefined();
      expect(other.data).toEqual({ predict: { text, label: expect.stringMatching(/^(negative|positive)$/) } });
      // The other request's one new text is all the models ran.
      expect(await modelRows(t)).toBe(before + 1);
    });

    it.each(PAST_ONE_LIMIT)('refuses %s, naming %s, before any model runs', async (_name, setting, request) => {
      const before = await modelRows(t);
      const answer = await send(request);
      expect(answer.errors).toEqual([expect.objectContaining({ message: expect.stringContaining(setting), extensions: expect.objectContaining({ code: 'QUERY_TOO_LARGE', setting }) })]);
      if (transport === 'HTTP') expect(answer.status).toBe(400);
      expect(await modelRows(t)).toBe(before);
    });

    it('sums predictMany over the request: 600 + 600 texts refused, 500 + 500 answered', async () => {
      const before = await modelRows(t);
      const refused = await send({ query: SUM_QUERY, variables: { t: texts(600, unique('six')), u: texts(600, unique('hundred')) } });
      expect(refused.errors).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(/1200 texts .*limit of 1000 .*\(SIFT_MAX_TEXTS_PER_REQUEST\)/),
          extensions: { code: 'QUERY_TOO_LARGE', setting: 'SIFT_MAX_TEXTS_PER_REQUEST', limit: 1000 },
        }),
      ]);
      expect(await modelRows(t)).toBe(before);
      const answered = await send({ query: SUM_QUERY, variables: { t: texts(500, unique('five')), u: texts(500, unique('hundred')) } });
      expect(answered.errors).toBeUndefined();
      const data = answered.data as { a: unknown[]; b: unknown[] };
      expect([data.a.length, data.b.length]).toEqual([500, 500]);
      expect(await modelRows(t)).toBe(before + 1000);
    });

    it('refuses two submitBatch in one operation before either runs: no batch is created unseen', async () => {
      const listed = async () => ((await send({ query: '{ batches(first: 100) { edges { node { id } } } }' })).data as { batches: { edges: unknown[] } }).batches.edges.length;
      const before = await listed();
      // The second would fail (no such model): run one after the other, it would null the whole
      // answer, the first batch's id with it.
      const query = 'mutation { a: submitBatch(input: { texts: ["a fine film"] }) { id } b: submitBatch(input: { texts: ["x"], model: "no-such-model" }) { id } }';
      const refused = await send({ query });
      expect(refused.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/^An operation with submitBatch may ask for nothing else/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'SUBMIT_BATCH_ALONE' } })]);
      if (transport === 'HTTP') expect(refused.status).toBe(400);
      expect(await listed()).toBe(before);
      const alone = await send({ query: 'mutation { submitBatch(input: { texts: ["a fine film"] }) { id } }' });
      expect(alone.errors).toBeUndefined();
      expect(await listed()).toBe(before + 1);
    });

    it('refuses a results page out of range under submitBatch before the batch is made: its error would null the answer and the id', async () => {
      const listed = async () => ((await send({ query: '{ batches(first: 100) { edges { node { id } } } }' })).data as { batches: { edges: unknown[] } }).batches.edges.length;
      const before = await listed();
      const literal = await send({ query: 'mutation { submitBatch(input: { texts: ["a fine film"] }) { id results(limit: 5000) { index } } }' });
      expect(literal.errors).toEqual([expect.objectContaining({ message: 'limit must be from 0 to 1000; got 5000.', extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
      expect(literal.data).toBeNull();
      // From a variable, in a fragment.
      const fromVariable = await send({
        query: 'mutation($offset: Int!) { submitBatch(input: { texts: ["a fine film"] }) { ...Rows } } fragment Rows on Batch { id results(offset: $offset) { index } }',
        variables: { offset: -1 },
      });
      expect(fromVariable.errors?.map((e) => e.message)).toEqual(['offset must be 0 or more; got -1.']);
      expect(await listed()).toBe(before);
      const fine = await send({ query: 'mutation { submitBatch(input: { texts: ["a fine film"] }) { id results(limit: 10) { index } } }' });
      expect(fine.errors).toBeUndefined();
      expect(await listed()).toBe(before + 1);
    });

    it('keeps introspection (Apollo Sandbox\'s query) and suggestions on a loopback HOST', async () => {
      const introspection = await send({ query: getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }) });
      expect(introspection.errors).toBeUndefined();
      expect((introspection.data as { __schema: { queryType: { name: string } } }).__schema.queryType.name).toBe('Query');
      const typo = await send({ query: '{ predic(text: "x") { label } }' });
      expect(typo.errors?.map((e) => e.message)).toEqual(['Cannot query field "predic" on type "Query". Did you mean "predict"?']);
    });
  });
});

describe('with SIFT_INTROSPECTION=off (what a server on another HOST defaults to)', () => {
  let t: TestApi;
  const sockets = transports(() => t);
  beforeAll(async () => {
    t = await startTestApi({ ...ENV, HOST: '127.0.0.1', SIFT_INTROSPECTION: 'off' });
  });
  afterAll(async () => {
    await sockets.close();
    await t.stop();
  });

  describe.each(sockets.list)('over %s', (transport, send) => {
    it('refuses introspection, still answers __typename and queries', async () => {
      const refused = await send({ query: getIntrospectionQuery() });
      expect(refused.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/^Introspection is off on this server \(SIFT_INTROSPECTION\), so "__schema" cannot be queried/),
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' },
      });
      if (transport === 'HTTP') expect(refused.status).toBe(400);
      const typeQuery = await send({ query: '{ __type(name: "Query") { name } }' });
      expect(typeQuery.errors?.map((e) => e.extensions?.validationErrorCode)).toEqual(['INTROSPECTION_DISABLED']);
      const answered = await send({ query: '{ __typename models { name } }' });
      expect(answered.data).toEqual({ __typename: 'Query', models: [{ name: 'question-type' }, { name: 'sentiment' }] });
    });

    it('gives no "Did you mean" suggestions, for fields, arguments, enum values and input fields', async () => {
      const field = await send({ query: '{ predic(text: "x") { label } }' });
      expect(field.errors?.map((e) => e.message)).toEqual(['Cannot query field "predic" on type "Query".']);
      const enumValue = await send({ query: '{ batches(first: 1, status: COMPLETE) { pageInfo { hasNextPage } } }' });
      expect(enumValue.errors?.map((e) => e.message)).toEqual(['Value "COMPLETE" does not exist in "BatchStatus" enum.']);
      const argument = await send({ query: '{ predict(txt: "x") { label } }' });
      expect(argument.errors?.map((e) => e.message)).toContain('Unknown argument "txt" on field "Query.predict".');
      expect(argument.errors?.map((e) => e.message).join(' ')).not.toMatch(/Did you mean/);
      const input = await send({ query: 'mutation($input: SubmitBatchInput!) { submitBatch(input: $input) { id } }', variables: { input: { text: ['a'] } } });
      expect(input.errors?.length).toBeGreaterThan(0);
      expect(input.errors?.map((e) => e.message).join(' ')).not.toMatch(/Did you mean/);
    });
  });
});
