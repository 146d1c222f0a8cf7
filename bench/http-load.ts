import path from 'node:path';
import autocannon from 'autocannon';
import newTextRequest from './load-hooks/new-text-request';
import hasNoGraphQLErrors from './load-hooks/verify-body';
import type { LoadResult, LoadSpec } from './load-types';
import { runPacedLoad } from './paced-load';

/** One GraphQL POST load: either the same body every time, or fresh texts in every request. */
const hook = (name: string) => path.join(__dirname, 'load-hooks', `${name}.js`);

/** Runs autocannon (pipelining 1, keep-alive) with `spec`, or a paced load when it sets a rate, and summarises the result. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.overallRate) return runPacedLoad({ ...spec, overallRate: spec.overallRate });
  // In worker mode autocannon clones its options into each thread, so hooks go as file paths.
  const inWorkers = spec.workers > 0;
  const request: autocannon.Request =
    'fixed' in spec.body
      ? { method: 'POST', path: '/graphql', body: spec.body.fixed }
      : { method: 'POST', path: '/graphql', setupRequest: inWorkers ? hook('new-text-request') : newTextRequest };
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    pipelining: 1,
    duration: spec.seconds,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    requests: [request],
    initialContext: 'fixed' in spec.body ? {} : { bodyPrefix: spec.body.bodyPrefix, texts: spec.body.texts },
    verifyBody: inWorkers ? (hook('verify-body') as unknown as typeof hasNoGraphQLErrors) : hasNoGraphQLErrors,
    ...(inWorkers ? { workers: spec.workers } : {}),
  });
  const ok = result['2xx'];
  return {
    seconds: result.duration,
    ok,
    requestsPerSecond: ok / result.duration,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
    failures: { non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, graphqlErrors: result.mismatches },
  };
}

/** Total failures of a load run (0 for a clean run). */
export function failureCount(result: LoadResult): number {
  const f = result.failures;
  return f.non2xx + f.errors + f.graphqlErrors;
}
