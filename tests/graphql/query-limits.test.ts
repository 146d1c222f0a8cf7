import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getIntrospectionQuery, GraphQLError, parse, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { loadConfig } from '../../src/config/config';
import { modelTexts } from '../../src/graphql/model-work';
import { listItemsOver } from '../../src/graphql/operation-to-run';
import { resultRows } from '../../src/graphql/result-rows';
import { QueryLimits, queryLimitSettings, type QueryLimitSettings } from '../../src/graphql/query-limits';
import { buildSiftSchema } from '../../src/graphql/schema';
import { PROJECT_ROOT } from '../support/paths';

const DEFAULTS: QueryLimitSettings = { maxAliases: 30, maxDepth: 12, maxTokens: 5000, maxDirectives: 20, maxTexts: 1000, maxResultRows: 5000, maxListItems: 11_000, introspection: true };

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildSiftSchema();
});

function errorsOf(result: ExecutionArgs | readonly GraphQLError[]): readonly GraphQLError[] {
  if (!Array.isArray(result)) throw new Error('expected the request to be refused');
  return result as readonly GraphQLError[];
}

function accepted(result: ExecutionArgs | readonly GraphQLError[]): ExecutionArgs {
  if (Array.isArray(result)) throw new Error(`expected the request to pass, got: ${result.map((e: GraphQLError) => e.message).join('; ')}`);
  return result as ExecutionArgs;
}

const texts = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const literal = (list: string[]) => `[${list.map((t) => JSON.stringify(t)).join(', ')}]`;

describe('the texts a request sends to the models', () => {
  const count = (query: string, variables: Record<string, unknown> = {}, limit = 1000) => modelTexts(schema, parse(query), undefined, variables, limit, DEFAULTS.maxListItems);

  it('counts 1 a predict and every text of a predictMany, literal or from a variable', () => {
    expect(count('{ a: predict(text: "x") { label } b: predict(text: "y") { label } }')).toBe(2);
    expect(count(`{ predictMany(texts: ${literal(texts(7))}) { label } }`)).toBe(7);
    expect(count('query($t: [String!]!) { predictMany(texts: $t) { label } }', { t: texts(40) })).toBe(40);
    expect(count('{ models { name } cachedPrediction(text: "x") { label } }')).toBe(0);
  });

  it('sums over aliases, fragments, inline fragments and a variable used many times', () => {
    const query = `query($t: [String!]!) {
      a: predictMany(texts: $t) { label }
      ...More
      ... on Query { c: predictMany(texts: $t) { label } d: predict(text: "x") { label } }
    }
    fragment More on Query { b: predictMany(texts: $t) { label } }`;
    expect(count(query, { t: texts(100) })).toBe(301);
  });

  it('counts a field once however often it is selected under one name, as execution runs it once', () => {
    const query = 'query($t: [String!]!) { ...F ...F predictMany(texts: $t) { label } } fragment F on Query { predictMany(texts: $t) { text } }';
    expect(count(query, { t: texts(10) })).toBe(10);
  });

  it('reads default values, a single string given for a list, and leaves out skipped fields', () => {
    expect(count('query($t: [String!]! = ["a", "b", "c"]) { predictMany(texts: $t) { label } }')).toBe(3);
    expect(count('query($t: [String!]!) { predictMany(texts: $t) { label } }', { t: 'one' })).toBe(1);
    const skipped = 'query($t: [String!]!, $s: Boolean!) { a: predictMany(texts: $t) { label } b: predictMany(texts: $t) @skip(if: $s) { label } c: predictMany(texts: $t) @include(if: $s) { label } }';
    expect(count(skipped, { t: texts(5), s: true })).toBe(10);
    expect(count(skipped, { t: texts(5), s: false })).toBe(10);
  });

  it('counts nothing for a predictMany its resolver refuses (more texts than the limit) or variables execution refuses', () => {
    expect(count(`{ a: predictMany(texts: ${literal(texts(11))}) { label } b: predict(text: "x") { label } }`, {}, 10)).toBe(1);
    expect(count('query($t: [String!]!) { predictMany(texts: $t) { label } }', { t: [1, 2, 3].map(() => ({ not: 'a string' })) })).toBe(0);
  });

  it('counts nothing for mutations and subscriptions, whose work runs on workers', () => {
    expect(count('mutation { submitBatch(input: { texts: ["a", "b"] }) { id } }')).toBe(0);
  });
});

describe('the stored result rows a request reads', () => {
  const count = (query: string, variables: Record<string, unknown> = {}) => resultRows(schema, parse(query), undefined, variables, DEFAULTS.maxListItems);

  it("counts each results page's limit (100 when not given), times the first of the batches list above it", () => {
    expect(count('query($id: ID!) { batch(id: $id) { results(limit: 1000) { index } } }', { id: 'b' })).toBe(1000);
    expect(count('query($id: ID!) { batch(id: $id) { results { index } } }', { id: 'b' })).toBe(100);
    expect(count('{ batches(first: 100) { edges { node { results(limit: 1000) { index } } } } }')).toBe(100_000);
    expect(count('query($n: Int!, $l: Int!) { batches(first: $n) { edges { node { id results(limit: $l) { index } } } } }', { n: 7, l: 30 })).toBe(210);
    expect(count('{ batches(first: 5) { edges { node { id status } } } models { name } }')).toBe(0);
  });

  it('sums over aliases, fragments and inline fragments; a mutation and a subscription count too', () => {
    expect(count('{ a: batches(first: 10) { edges { node { ...R } } } b: batches(first: 10) { edges { node { ...R ... on Batch { more: results(limit: 5) { index } } } } } } fragment R on Batch { results(limit: 50) { index } }')).toBe(10 * 50 + 10 * 55);
    expect(count('mutation { submitBatch(input: { texts: ["x"] }) { id results(limit: 1000) { index } } }')).toBe(1000);
    expect(count('subscription { batchProgress(id: "b") { batch { results(limit: 300) { index } } } }')).toBe(300);
    expect(count('{ batches(first: 100) { edges { node { results(limit: 1000) @skip(if: true) { index } } } } }')).toBe(0);
  });

  it('counts a fragment once however often it is spread within fragments: a doubling document costs its length', () => {
    const depth = 200;
    const fragments = Array.from({ length: depth }, (_, i) => (i === depth - 1 ? `fragment F${i} on Batch { results(limit: 1) { index } }` : `fragment F${i} on Batch { a: batch { ...F${i + 1} } }`));
    // Batch has no field "batch": rows come only from the last fragment, whatever the paths.
    const started = process.hrtime.bigint();
    expect(count(`query($id: ID!) { batch(id: $id) { ...F0 } } ${fragments.join(' ')}`, { id: 'b' })).toBe(0);
    const doubling = Array.from({ length: 60 }, (_, i) => (i === 59 ? 'fragment D59 on Batch { results(limit: 1) { index } }' : `fragment D${i} on Batch { ...D${i + 1} x: id ...D${i + 1} }`));
    expect(count(`query($id: ID!) { batch(id: $id) { ...D0 } } ${doubling.join(' ')}`, { id: 'b' })).toBe(2 ** 59);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
  });

  it('is refused past SIFT_MAX_RESULT_ROWS_PER_REQUEST with QUERY_TOO_LARGE, naming the setting', () => {
    const limits = new QueryLimits(DEFAULTS);
    const [error] = errorsOf(limits.check(schema, { query: '{ a: batches(first: 100) { edges { node { results(limit: 1000) { index } } } } }' }));
    expect(error.extensions).toMatchObject({ code: 'QUERY_TOO_LARGE', setting: 'SIFT_MAX_RESULT_ROWS_PER_REQUEST', limit: 5000 });
    expect(error.message).toMatch(/100000 result rows/);
    accepted(limits.check(schema, { query: '{ batches(first: 5) { edges { node { results(limit: 1000) { index } } } } }' }));
  });
});

describe('QueryLimits.check (what the WebSocket runs, and Apollo runs piece by piece)', () => {
  const limits = new QueryLimits(DEFAULTS);

  it('passes every operation of Sift\'s own clients and the full introspection query', () => {
    const operations = readFileSync(path.join(PROJECT_ROOT, 'src/client/operations.graphql'), 'utf8');
    const document = parse(operations);
    for (const definition of document.definitions) {
      if (definition.kind !== 'OperationDefinition') continue;
      accepted(limits.check(schema, { query: operations, operationName: definition.name!.value, variables: { text: 'x', texts: texts(1000), id: 'b', first: 20, offset: 0, limit: 1000, input: { texts: ['a'] } } }));
    }
    const introspection = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true });
    accepted(limits.check(schema, { query: introspection }));
    // 1,000 literal texts, the curl example's style, fit the token limit.
    accepted(limits.check(schema, { query: `{ predictMany(texts: ${literal(texts(1000))}) { label } }` }));
  });

  it.each([
    ['too many aliases', `{ ${texts(31, 'a').map((a) => `${a}: __typename`).join(' ')} }`, 'SIFT_MAX_ALIASES', 30, /Aliases limit of 30 exceeded, found 31/],
    ['too deep a query', '{ batches(first: 1) { edges { node { results { prediction { scores { label } } } } } } }', 'SIFT_MAX_QUERY_DEPTH', 6, /depth limit of 6 exceeded, found 7/],
    // 11 tokens around the list: 5,001 in all.
    ['too many tokens', `{ predictMany(texts: ${literal(texts(4990))}) { label } }`, 'SIFT_MAX_QUERY_TOKENS', 5000, /Token limit of 5000 exceeded/],
    ['too many directives', `{ models { ${texts(21, 'f').map(() => 'name @include(if: true)').join(' ')} } }`, 'SIFT_MAX_DIRECTIVES', 20, /Directives limit of 20 exceeded, found 21/],
  ])('refuses %s with QUERY_TOO_LARGE, naming the limit and its setting', (_what, query, setting, limit, detail) => {
    const strict = new QueryLimits({ ...DEFAULTS, maxDepth: setting === 'SIFT_MAX_QUERY_DEPTH' ? 6 : DEFAULTS.maxDepth });
    const [error, ...others] = errorsOf(strict.check(schema, { query }));
    expect(others).toEqual([]);
    expect(error.message).toMatch(detail);
    expect(error.message).toContain(setting);
    expect(error.extensions).toEqual({ code: 'QUERY_TOO_LARGE', setting, limit });
    // One under each limit passes.
    const looser = new QueryLimits({ ...DEFAULTS, maxAliases: 31, maxDepth: 7, maxTokens: 5002, maxDirectives: 21 });
    accepted(looser.check(schema, { query }));
  });

  it('stops counting tokens at the limit: a 6 MB document is refused after reading a little of it', () => {
    const huge = `{ ${texts(300_000, 'a').map((a) => `${a}: __typename`).join(' ')} }`;
    expect(huge.length).toBeGreaterThan(5_000_000);
    const [error] = errorsOf(limits.check(schema, { query: huge }));
    expect(error.extensions.code).toBe('QUERY_TOO_LARGE');
    expect(error.extensions.setting).toBe('SIFT_MAX_QUERY_TOKENS');
  });

  it('refuses a request whose predict and predictMany fields send more texts than SIFT_MAX_TEXTS_PER_REQUEST together', () => {
    const query = 'query($t: [String!]!, $u: [String!]!) { a: predictMany(texts: $t) { label } b: predictMany(texts: $u) { label } }';
    const [error] = errorsOf(limits.check(schema, { query, variables: { t: texts(600), u: texts(600, 'u') } }));
    expect(error.message).toMatch(/1200 texts .* limit of 1000 .*SIFT_MAX_TEXTS_PER_REQUEST/);
    expect(error.extensions).toEqual({ code: 'QUERY_TOO_LARGE', setting: 'SIFT_MAX_TEXTS_PER_REQUEST', limit: 1000 });
    const args = accepted(limits.check(schema, { query, variables: { t: texts(500), u: texts(500, 'u') } }));
    expect(args.variableValues).toEqual({ t: texts(500), u: texts(500, 'u') });
  });

  it('refuses variables with more list items than any request can use before coercing them, at any depth, in bounded time', () => {
    const query = 'query($t: [String!]!) { predictMany(texts: $t) { label } }';
    // A review's 8 MB body: 2,000,000 empty strings, 0.4 s a coercion of the API's request thread, and four coercions before the list's length was checked.
    const huge = Array.from({ length: 2_000_000 }, () => '');
    // Every item read of the list, by anyone (coercion reads each one).
    let reads = 0;
    const watched = new Proxy(huge, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    const [error, ...others] = errorsOf(limits.check(schema, { query, variables: { t: watched } }));
    expect(others).toEqual([]);
    expect(error.message).toMatch(/variables hold more than 11000 list items/);
    expect(error.extensions).toEqual({ code: 'QUERY_TOO_LARGE', setting: 'SIFT_MAX_TEXTS_PER_REQUEST', limit: 11_000 });
    // Refused on the list's length: not one item read, let alone coerced.
    expect(reads).toBe(0);
    // Lists in input objects and lists of lists count too; an inline batch of SIFT_MAX_INLINE_ROWS rows passes.
    const submit = 'mutation($input: SubmitBatchInput!) { submitBatch(input: $input) { id } }';
    expect(errorsOf(limits.check(schema, { query: submit, variables: { input: { texts: texts(11_001) } } }))[0].extensions.code).toBe('QUERY_TOO_LARGE');
    accepted(limits.check(schema, { query: submit, variables: { input: { texts: texts(10_000) } } }));
    // Nested a hundred thousand deep (a 600 kB body): counted without a stack overflow, which answered 500.
    const nested = (wrap: (inner: unknown) => unknown) => {
      let deep: unknown = 'x';
      for (let i = 0; i < 100_000; i++) deep = wrap(deep);
      return deep;
    };
    // Objects add no list items; each array of one adds one.
    expect(listItemsOver({ v: nested((inner) => ({ a: inner })) }, 11_000)).toBe(false);
    expect(listItemsOver({ v: nested((inner) => [inner]) }, 11_000)).toBe(true);
    // The counts that run before the refusal see nothing to count in such variables.
    expect(modelTexts(schema, parse(query), undefined, { t: huge }, 1000, 11_000)).toBe(0);
    expect(resultRows(schema, parse('query($n: [Int!]) { batches(first: 1) { pageInfo { hasNextPage } } }'), undefined, { n: huge }, 11_000)).toBe(0);
  });

  it('with introspection off, refuses __schema and __type once each, keeps __typename, and hides suggestions', () => {
    const off = new QueryLimits({ ...DEFAULTS, introspection: false });
    const errors = errorsOf(off.check(schema, { query: '{ __schema { types { name fields { name } } } __type(name: "Query") { name } __typename }' }));
    expect(errors.map((e) => [e.message, e.extensions])).toEqual([
      [expect.stringMatching(/^Introspection is off on this server \(SIFT_INTROSPECTION\), so "__schema" cannot be queried/), { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' }],
      [expect.stringMatching(/"__type" cannot be queried/), { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' }],
    ]);
    accepted(off.check(schema, { query: '{ __typename }' }));
    const typo = '{ predic(txt: "x") { label } }';
    expect(errorsOf(off.check(schema, { query: typo })).map((e) => e.message)).toEqual(['Cannot query field "predic" on type "Query".']);
    expect(errorsOf(limits.check(schema, { query: typo })).map((e) => e.message)).toEqual(['Cannot query field "predic" on type "Query". Did you mean "predict"?']);
    const enumTypo = '{ batches(first: 1, status: COMPLETE) { pageInfo { hasNextPage } } }';
    expect(errorsOf(off.check(schema, { query: enumTypo })).map((e) => e.message)).toEqual(['Value "COMPLETE" does not exist in "BatchStatus" enum.']);
    expect(errorsOf(limits.check(schema, { query: enumTypo })).map((e) => e.message)).toEqual(['Value "COMPLETE" does not exist in "BatchStatus" enum. Did you mean the enum value "COMPLETED"?']);
    expect(accepted(off.check(schema, { query: '{ __typename }' })).hideSuggestions).toBe(true);
    expect(accepted(limits.check(schema, { query: '{ __typename }' })).hideSuggestions).toBe(false);
  });

  describe('submitBatch alone in its operation (SUBMIT_BATCH_ALONE)', () => {
    const refused = (query: string) => {
      const errors = errorsOf(limits.check(schema, { query }));
      expect(errors.map((e) => e.extensions)).toEqual([{ code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'SUBMIT_BATCH_ALONE' }]);
      return errors[0].message;
    };
    const submit = (name: string) => `${name}: submitBatch(input: { texts: ["a"] }) { id }`;

    it.each([
      ['two aliased submitBatch', `mutation { ${submit('a')} ${submit('b')} }`, /asks for submitBatch more than once\. /],
      ['submitBatch then cancelBatch', `mutation { ${submit('a')} cancelBatch(id: "x") { id } }`, /asks for submitBatch and another mutation field\. /],
      ['cancelBatch twice beside submitBatch', `mutation { c: cancelBatch(id: "x") { id } ${submit('a')} d: cancelBatch(id: "y") { id } }`, /asks for submitBatch and other mutation fields\. /],
      ['a second submitBatch in a fragment', `mutation { ${submit('a')} ...more } fragment more on Mutation { ${submit('b')} }`, /submitBatch more than once\. /],
      ['a second submitBatch in an inline fragment, under @skip', `mutation($no: Boolean = true) { ${submit('a')} ... on Mutation @skip(if: $no) { ${submit('b')} } }`, /submitBatch more than once\. /],
      ['two submitBatch and a cancelBatch', `mutation { ${submit('a')} cancelBatch(id: "x") { id } ${submit('b')} }`, /asks for submitBatch more than once and another mutation field\. /],
      ['one fragment spread twice', 'mutation { ...one ...one } fragment one on Mutation { submitBatch(input: { texts: ["a"] }) { id } }', /submitBatch more than once\. /],
    ])('refuses %s, saying why and what to do', (_what, query, found) => {
      const message = refused(query);
      expect(message).toMatch(found);
      expect(message).toMatch(/one that failed after submitBatch would leave the response without data, and so without the id of a batch already created\. Send each submitBatch in a request of its own/);
    });

    it('passes submitBatch alone or beside __typename, and other mutations together', () => {
      accepted(limits.check(schema, { query: `mutation { ${submit('a')} __typename }` }));
      accepted(limits.check(schema, { query: `mutation { ...one } fragment one on Mutation { ${submit('a')} }` }));
      accepted(limits.check(schema, { query: 'mutation { a: cancelBatch(id: "x") { id } b: cancelBatch(id: "y") { id } }' }));
      // A document may hold several operations, each with its one submitBatch.
      const two = `mutation First { ${submit('a')} } mutation Second { ${submit('b')} }`;
      accepted(limits.check(schema, { query: two, operationName: 'Second' }));
    });

    it('counts each fragment once: fragments that each spread the next twice, 300 deep (2^300 fields, within the token limit), are counted in one pass', () => {
      const doubling = (leaf: string) => {
        let query = 'mutation { ...f0 }';
        for (let i = 0; i < 300; i++) query += ` fragment f${i} on Mutation { ...f${i + 1} ...f${i + 1} }`;
        return `${query} fragment f300 on Mutation { ${leaf} }`;
      };
      // Before, the rule walked every spread: 2^20 fields overflowed the stack, 22 deep took 5.8 s.
      expect(refused(doubling('submitBatch(input: { texts: ["a"] }) { id }'))).toMatch(/asks for submitBatch more than once\. /);
      accepted(limits.check(schema, { query: doubling('cancelBatch(id: "x") { id }') }));
      accepted(limits.check(schema, { query: doubling('__typename') }));
    });

    it('follows a fragment that spreads itself once (graphql-js refuses the cycle)', () => {
      const errors = errorsOf(limits.check(schema, { query: `mutation { ...loop } fragment loop on Mutation { ${submit('a')} ...loop }` }));
      expect(errors.map((e) => e.message)).toEqual(['Cannot spread fragment "loop" within itself.']);
    });
  });

  it('answers a syntax error as graphql-js words it', () => {
    expect(errorsOf(limits.check(schema, { query: '{ predict(' })).map((e) => e.message)).toEqual(['Syntax Error: Expected Name, found <EOF>.']);
  });
});

describe('the settings', () => {
  const settings = (env: Record<string, string>) => queryLimitSettings(loadConfig(env, '/srv/sift'));

  it('default to limits no client of Sift meets', () => {
    expect(settings({ HOST: '127.0.0.1' })).toEqual(DEFAULTS);
  });

  it('read SIFT_MAX_ALIASES, SIFT_MAX_QUERY_DEPTH, SIFT_MAX_QUERY_TOKENS, SIFT_MAX_DIRECTIVES, SIFT_MAX_TEXTS_PER_REQUEST and SIFT_MAX_RESULT_ROWS_PER_REQUEST', () => {
    const env = { SIFT_MAX_ALIASES: '5', SIFT_MAX_QUERY_DEPTH: '8', SIFT_MAX_QUERY_TOKENS: '900', SIFT_MAX_DIRECTIVES: '0', SIFT_MAX_TEXTS_PER_REQUEST: '64', SIFT_MAX_RESULT_ROWS_PER_REQUEST: '2000' };
    expect(settings(env)).toEqual({ maxAliases: 5, maxDepth: 8, maxTokens: 900, maxDirectives: 0, maxTexts: 64, maxResultRows: 2000, maxListItems: 11_000, introspection: true });
    // The longest list a request may send, SIFT_MAX_TEXTS_PER_REQUEST's or SIFT_MAX_INLINE_ROWS's, and room for small ones.
    expect(settings({ SIFT_MAX_TEXTS_PER_REQUEST: '50000', SIFT_MAX_INLINE_ROWS: '20' }).maxListItems).toBe(51_000);
    expect(() => settings({ SIFT_MAX_QUERY_TOKENS: 'lots' })).toThrow(/SIFT_MAX_QUERY_TOKENS="lots" is not valid/);
  });

  it.each([
    [{ HOST: '127.0.0.1' }, true],
    [{ HOST: 'localhost' }, true],
    [{ HOST: '::1' }, true],
    [{ HOST: '0.0.0.0' }, false],
    [{ HOST: '10.1.2.3' }, false],
    [{ HOST: '0.0.0.0', NODE_ENV: 'development' }, true],
    [{ HOST: '0.0.0.0', SIFT_INTROSPECTION: 'on' }, true],
    [{ HOST: '127.0.0.1', SIFT_INTROSPECTION: 'off' }, false],
    [{ HOST: '127.0.0.1', NODE_ENV: 'development', SIFT_INTROSPECTION: 'OFF' }, false],
  ])('introspection with %j: %s', (env, on) => {
    expect(settings(env).introspection).toBe(on);
  });

  it('refuses an introspection setting that is neither on nor off', () => {
    expect(() => settings({ SIFT_INTROSPECTION: 'yes' })).toThrow(/SIFT_INTROSPECTION="yes" is not valid: expected on or off/);
  });
});
