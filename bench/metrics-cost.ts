/**
 * What metrics and logs cost a `predict` request: two API children at once, alike but for
 * observability. On: metrics collected (SIFT_METRICS=on, every family and prom-client's defaults)
 * and JSON log lines at info (SIFT_LOG_FORMAT=json, SIFT_LOG_LEVEL=info) written to a file, as a
 * log collector would read them. Off: SIFT_METRICS=off and SIFT_LOG_LEVEL=silent. The same load on
 * each in turn, round after round, the side that goes first alternating, so each pair is measured
 * seconds apart.
 */
import { readFileSync, statSync } from 'node:fs';
import autocannon from 'autocannon';
import { print } from 'graphql';
import { PredictDocument } from '../src/client/generated/graphql';
import type { ApiProcess } from './api-process';
import { procSeconds } from './cpu';
import newTextRequest from './load-hooks/new-text-request';
import hasNoGraphQLErrors from './load-hooks/verify-body';
import { median } from './median';
import { readMetrics, seriesSum } from './prometheus-text';
import { benchText } from './texts';

/** The settings of each side, on top of the bench's own. */
export const OBSERVABILITY_ON = { SIFT_METRICS: 'on', SIFT_LOG_FORMAT: 'json', SIFT_LOG_LEVEL: 'info' } as const;
export const OBSERVABILITY_OFF = { SIFT_METRICS: 'off', SIFT_LOG_LEVEL: 'silent' } as const;

/** One timed load on one API. */
export interface MetricsCostLoad {
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number };
  /** CPU of the API process over the load, in % of one core. */
  apiCpuPct: number;
  failures: { non2xx: number; errors: number; timeouts: number; graphqlErrors: number };
}

export interface MetricsCostScenario {
  id: 'cached' | 'newText';
  title: string;
  /** Medians of the rounds. */
  off: MetricsCostLoad;
  on: MetricsCostLoad;
  /** Each round's on req/s in % of the same round's off req/s. */
  roundRatiosPct: number[];
  rounds: { off: MetricsCostLoad; on: MetricsCostLoad; onFirst: boolean }[];
}

export interface MetricsCostResult {
  secondsPerRound: number;
  rounds: number;
  connections: number;
  on: Record<string, string>;
  off: Record<string, string>;
  /** What the on side wrote: log lines and bytes over the whole section, and GraphQL operations its /metrics counted. */
  onSide: { logLines: number; logBytes: number; jsonLogLines: boolean; operationsCounted: number };
  scenarios: MetricsCostScenario[];
}

export interface MetricsCostOptions {
  /** Starts an API child with `extraEnv` on top of the bench's, its output written to `logFile` (stopped, and its keys deleted, by the caller's clean-up). */
  startApi(extraEnv: NodeJS.ProcessEnv, logFile: string): Promise<ApiProcess>;
  /** Where each side's output goes (the on side's log lines). */
  logFiles: { on: string; off: string };
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  connections: number;
  log(line: string): void;
}

const PREDICT = print(PredictDocument);
// Apart from the online scenarios' cached text (500,000), the auth section's (600,000) and the load hooks' (1e6 and up).
const CACHED_TEXT = 700_000;

type Body = { fixed: string } | { bodyPrefix: string };

async function load(api: ApiProcess, body: Body, seconds: number, connections: number): Promise<MetricsCostLoad> {
  const cpu0 = procSeconds(api.pid);
  const started = performance.now();
  const result = await autocannon({
    url: api.url,
    connections,
    pipelining: 1,
    duration: seconds,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
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

function medianLoad(loads: readonly MetricsCostLoad[]): MetricsCostLoad {
  const m = (pick: (l: MetricsCostLoad) => number) => median(loads.map(pick));
  const sum = (pick: (l: MetricsCostLoad) => number) => loads.reduce((total, l) => total + pick(l), 0);
  return {
    requestsPerSecond: m((l) => l.requestsPerSecond),
    latencyMs: { p50: m((l) => l.latencyMs.p50), p99: m((l) => l.latencyMs.p99) },
    apiCpuPct: m((l) => l.apiCpuPct),
    failures: { non2xx: sum((l) => l.failures.non2xx), errors: sum((l) => l.failures.errors), timeouts: sum((l) => l.failures.timeouts), graphqlErrors: sum((l) => l.failures.graphqlErrors) },
  };
}

/** Failures of every load of the section (non-2xx, connection errors, GraphQL errors). */
export function metricsCostFailures(result: MetricsCostResult): number {
  return result.scenarios.flatMap((s) => s.rounds.flatMap((r) => [r.off, r.on])).reduce((sum, l) => sum + l.failures.non2xx + l.failures.errors + l.failures.graphqlErrors, 0);
}

async function primeCached(api: ApiProcess, payload: string): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const response = await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
    const answer = (await response.json()) as { data?: { predict?: { cached: boolean } }; errors?: unknown };
    if (i === 1 && (response.status !== 200 || answer.data?.predict?.cached !== true)) throw new Error(`priming the cached text on ${api.url} failed: ${response.status} ${JSON.stringify(answer.errors ?? {})}`);
  }
}

/** Lines in the on side's log, and whether each is one JSON object. */
function logLines(file: string): { lines: number; bytes: number; json: boolean } {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const json = lines.length > 0 && lines.every((line) => {
    try {
      return typeof JSON.parse(line) === 'object';
    } catch {
      return false;
    }
  });
  return { lines: lines.length, bytes: statSync(file).size, json };
}

/**
 * Both APIs up and checked (the on side answers /metrics, the off side 404), then, for `predict`
 * on one cached text and on a new text every request, a warm-up on each side and `rounds` rounds
 * of `seconds` on each side, the side that goes first alternating round by round.
 */
export async function runMetricsCost(options: MetricsCostOptions): Promise<MetricsCostResult> {
  const off = await options.startApi({ ...OBSERVABILITY_OFF }, options.logFiles.off);
  const on = await options.startApi({ ...OBSERVABILITY_ON }, options.logFiles.on);
  const offMetrics = await fetch(`${off.url}/metrics`);
  if (offMetrics.status !== 404) throw new Error(`the metrics-off API answered /metrics with ${offMetrics.status}, not 404: is SIFT_METRICS=off in force?`);
  await readMetrics(on.url);

  const cachedBody = JSON.stringify({ query: PREDICT, variables: { text: benchText(CACHED_TEXT) } });
  for (const api of [off, on]) await primeCached(api, cachedBody);
  const scenarios: { id: MetricsCostScenario['id']; title: string; body: Body }[] = [
    { id: 'cached', title: 'predict, cached text', body: { fixed: cachedBody } },
    { id: 'newText', title: 'predict, new text each', body: { bodyPrefix: `{"query":${JSON.stringify(PREDICT)},"variables":{"text":` } },
  ];
  options.log(`bench: metrics and JSON logs on and off, ${scenarios.length} scenarios, ${options.rounds} rounds of ${options.seconds} s a side after ${options.warmupSeconds} s warm-up each`);
  if (options.warmupSeconds > 0) {
    for (const scenario of scenarios) {
      await load(off, scenario.body, options.warmupSeconds, options.connections);
      await load(on, scenario.body, options.warmupSeconds, options.connections);
    }
  }
  const rounds: MetricsCostScenario['rounds'][] = scenarios.map(() => []);
  for (let round = 0; round < options.rounds; round++) {
    const onFirst = round % 2 === 1;
    for (const [i, scenario] of scenarios.entries()) {
      // autocannon stops without waiting for answers in flight: let them land before the next load.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const first = await load(onFirst ? on : off, scenario.body, options.seconds, options.connections);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = await load(onFirst ? off : on, scenario.body, options.seconds, options.connections);
      rounds[i].push(onFirst ? { on: first, off: second, onFirst } : { off: first, on: second, onFirst });
    }
  }
  const written = logLines(options.logFiles.on);
  return {
    secondsPerRound: options.seconds,
    rounds: options.rounds,
    connections: options.connections,
    on: { ...OBSERVABILITY_ON },
    off: { ...OBSERVABILITY_OFF },
    onSide: { logLines: written.lines, logBytes: written.bytes, jsonLogLines: written.json, operationsCounted: seriesSum(await readMetrics(on.url), 'sift_graphql_operations_total') },
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
