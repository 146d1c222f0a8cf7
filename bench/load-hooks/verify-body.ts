/**
 * autocannon `verifyBody` hook: a response body counts as a mismatch when it carries GraphQL
 * `errors`. A substring test rather than JSON.parse, because the load generator shares the two
 * cores with the API and parsing every 25 kB `predictMany` answer would cost the API CPU time.
 * The test cannot be fooled by a text: inside a JSON string a quote is escaped (`\"errors\":`), so
 * `"errors":` only matches a real key. Exported with `export =` so worker threads can `require` it.
 */
function hasNoGraphQLErrors(body: string | Buffer | undefined): boolean {
  return !String(body ?? '').includes('"errors":');
}

export = hasNoGraphQLErrors;
