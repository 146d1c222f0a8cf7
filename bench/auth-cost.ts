/**
 * The auth section: what API keys cost a `predict` request. Two API children at once, alike but
 * for SIFT_AUTH (off on one, `keys` on the other, with one key and the Bearer header on every
 * request), both with the rate limits on but far out of reach (api-process.ts); the same load on
 * each in turn, round after round, so each pair is measured seconds apart.
 */
import autocannon from 'autocannon';
import { print } from 'graphql';
import { Redis } from 'ioredis';
import { ApiKeyStore } from '../src/auth/api-key-store';
import { PredictDocument } from '../src/client/generated/graphql';
import { redisKeys } from '../src/redis/keys';
import type { ApiProcess } from './api-process';
import { procSeconds } from './cpu';
import newTextRequest from './load-hooks/new-text-request';
import hasNoGraphQLErrors from './load-hooks/verify-body';
import { median } from './median';
import { benchText } from './texts';

/** One timed load on one API. */
export interface AuthLoad {
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number };
  /** CPU of the API process over the load, in % of one core. */
  apiCpuPct: number;
  failures: { non2xx: number; errors: number; timeouts: number; graphqlErrors: number };
}

/** One scenario, auth off against auth on. */
export interface AuthScenario {
  id: 'cached' | 'newText';
  title: string;
  /** Medians of the rounds. */
  off: AuthLoad;
  on: AuthLoad;
  /** Each round's auth-on req/s in % of the same round's auth-off req/s. */
  roundRatiosPct: number[];
  rounds: { off: AuthLoad; on: AuthLoad; onFirst: boolean }[];
}

export interface AuthResult {
  secondsPerRound: number;
  rounds: number;
  connections: number;
  /** The key the auth-on API was sent: its scopes (never the key). */
  keyScopes: string[];
  scenarios: AuthScenario[];
}

export interface AuthOptions {
  /** Starts an API child with `extraEnv` on top of the bench's (stopped, and its keys deleted, by the caller's clean-up). */
  startApi(extraEnv: NodeJS.ProcessEnv): Promise<ApiProcess>;
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  connections: number;
  log(line: string): void;
}

const PREDICT = print(PredictDocument);
// Apart from the online scenarios' cached text (500,000) and the load hooks' (1e6 and up).
const CACHED_TEXT = 600_000;

type Body = { fixed: string } | { bodyPrefix: string };

async function load(api: ApiProcess, body: Body, seconds: number, connections: number, authorization?: string): Promise<AuthLoad> {
  const cpu0 = procSeconds(api.pid);
  const started = performance.now();
  const result = await autocannon({
    url: api.url,
    connections,
    pipelining: 1,
    duration: seconds,
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(authorization && { authorization }) },
    requests: [{ method: 'POST', path: '/graphql', ...('fixed' in body ? { body: body.fixed } : { setupRequest: newTextRequest }) }],
    initialContext: 'fixed' in body ? {} : { bodyPrefix: body.bodyPrefix, texts: 0 },
    verifyBody: hasNoGraphQLErrors,
  });
  const wall = (performance.now() - started) / 1000;
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
    apiCpuPct: Math.round((1000 * (procSeconds(api.pid) - cpu0)) / wall) / 10,
    failures: { non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, graphqlErrors: result.mismatches },
  };
}

function medianLoad(loads: readonly AuthLoad[]): AuthLoad {
  const m = (pick: (l: AuthLoad) => number) => median(loads.map(pick));
  const sum = (pick: (l: AuthLoad) => number) => loads.reduce((total, l) => total + pick(l), 0);
  return {
    requestsPerSecond: m((l) => l.requestsPerSecond),
    latencyMs: { p50: m((l) => l.latencyMs.p50), p99: m((l) => l.latencyMs.p99) },
    apiCpuPct: m((l) => l.apiCpuPct),
    failures: { non2xx: sum((l) => l.failures.non2xx), errors: sum((l) => l.failures.errors), timeouts: sum((l) => l.failures.timeouts), graphqlErrors: sum((l) => l.failures.graphqlErrors) },
  };
}

async function post(url: string, payload: string, authorization?: string): Promise<{ status: number; cached?: boolean; errors?: unknown }> {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization && { authorization }) }, body: payload });
  const answer = (await response.json()) as { data?: { predict?: { cached: boolean } }; errors?: unknown };
  return { status: response.status, cached: answer.data?.predict?.cached, errors: answer.errors };
}

/** Failures of every load of the section (non-2xx, connection errors, GraphQL errors). */
export function authFailures(result: AuthResult): number {
  return result.scenarios.flatMap((s) => s.rounds.flatMap((r) => [r.off, r.on])).reduce((sum, l) => sum + l.failures.non2xx + l.failures.errors + l.failures.graphqlErrors, 0);
}

/**
 * Both APIs up, a `predict`-scoped key made with ApiKeyStore under the auth-on API's prefix, and
 * checked: the auth-on API refuses a request without it (401) and answers one with it. Then, for
 * `predict` on one cached text and on a new text every request, a warm-up on each side, and
 * `rounds` rounds of `seconds` on each side, the side that goes first alternating round by round.
 */
export async function runAuthCost(options: AuthOptions): Promise<AuthResult> {
  const off = await options.startApi({ SIFT_AUTH: 'off' });
  const on = await options.startApi({ SIFT_AUTH: 'keys' });
  const redis = new Redis(on.settings.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  const scopes = ['predict'] as const;
  let key: string;
  try {
    ({ key } = await new ApiKeyStore(redis, redisKeys(on.keyPrefix)).create('bench', scopes));
  } finally {
    redis.disconnect();
  }
  const bearer = `Bearer ${key}`;

  const cachedBody = JSON.stringify({ query: PREDICT, variables: { text: benchText(CACHED_TEXT) } });
  const refused = await post(on.url, cachedBody);
  if (refused.status !== 401) throw new Error(`the auth-on API answered ${refused.status} to a request without a key, not 401: is SIFT_AUTH=keys in force?`);
  for (const [api, authorization] of [[off, undefined], [on, bearer]] as const) {
    await post(api.url, cachedBody, authorization);
    const second = await post(api.url, cachedBody, authorization);
    if (second.status !== 200 || second.cached !== true) throw new Error(`priming the cached text on ${api.url} failed: ${second.status} ${JSON.stringify(second.errors ?? {})}`);
  }

  const scenarios: { id: AuthScenario['id']; title: string; body: Body }[] = [
    { id: 'cached', title: 'predict, cached text', body: { fixed: cachedBody } },
    { id: 'newText', title: 'predict, new text each', body: { bodyPrefix: `{"query":${JSON.stringify(PREDICT)},"variables":{"text":` } },
  ];
  options.log(`bench: auth off and on, ${scenarios.length} scenarios, ${options.rounds} rounds of ${options.seconds} s a side after ${options.warmupSeconds} s warm-up each`);
  if (options.warmupSeconds > 0) {
    for (const scenario of scenarios) {
      await load(off, scenario.body, options.warmupSeconds, options.connections);
      await load(on, scenario.body, options.warmupSeconds, options.connections, bearer);
    }
  }
  const rounds: AuthScenario['rounds'][] = scenarios.map(() => []);
  for (let round = 0; round < options.rounds; round++) {
    const onFirst = round % 2 === 1;
    for (const [i, scenario] of scenarios.entries()) {
      // autocannon stops without waiting for answers in flight: let them land before the next load.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const first = onFirst ? await load(on, scenario.body, options.seconds, options.connections, bearer) : await load(off, scenario.body, options.seconds, options.connections);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = onFirst ? await load(off, scenario.body, options.seconds, options.connections) : await load(on, scenario.body, options.seconds, options.connections, bearer);
      rounds[i].push(onFirst ? { on: first, off: second, onFirst } : { off: first, on: second, onFirst });
    }
  }
  return {
    secondsPerRound: options.seconds,
    rounds: options.rounds,
    connections: options.connections,
    keyScopes: [...scopes],
    scenarios: scenarios.map((scenario, i) => ({
      id: scenario.id,
      title: scenario.title,
      off: medianLoad(rounds[i].map((r) => r.off)),
      on: medianLoad(rounds[i].map((r) => r.on)),
      roundRatiosPct: rounds[i].map((r) => (100 * r.on.requestsPerSecond) / r.off.requestsPerSecond),
      rounds: rounds[i],
    })),
  };
}
