import { print } from 'graphql';
import type { Redis } from 'ioredis';
import { PredictDocument, PredictManyDocument } from '../src/client/generated/graphql';
import type { EventLoopProbe } from './api-process';
import { cpuShare, cpuSnapshot, type CpuShare } from './cpu';
import { runLoad } from './http-load';
import { readMetrics, seriesSum } from './prometheus-text';
import type { LoadResult, LoadSpec } from './load-types';
import { benchText } from './texts';
import { median } from './median';

/**
 * The API's own view of a round: its event-loop delay over the round (the bench's probe in the API
 * process, reset as the round starts), and its model runs in the round (the difference of
 * `GET /metrics`'s counters before and after).
 */
export interface ApiMetrics {
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  modelRuns: { runs: number; rows: number; meanRunSize: number };
}

/** One timed round of one scenario. */
export interface RoundResult extends LoadResult {
  api: ApiMetrics;
  cpu: CpuShare;
}

/** One HTTP scenario: medians over its rounds (failures summed), and the rounds themselves. */
export interface ScenarioResult extends RoundResult {
  id: 'trivial' | 'cached' | 'newText' | 'many' | 'newTextPaced' | 'manyPaced';
  title: string;
  /** Texts labelled a second (requests/s × texts a request); only for `predictMany`. */
  rowsPerSecond?: number;
  /** Largest distance of a round's req/s from the median, in % of the median. */
  spreadPct: number;
  rounds: RoundResult[];
}

/** Where and how hard to push, shared by every scenario. */
export interface ScenarioContext {
  url: string;
  apiPid: number;
  /** The API process's event-loop delay over each round. */
  eventLoop: EventLoopProbe;
  /** For Redis CPU readings. */
  redis: Redis;
  /** Timed seconds of each round. */
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  connections: number;
  workers: number;
  manyTexts: number;
}

// The client's own operations (src/client/operations.graphql), so the bench asks for exactly the
// fields real clients ask for, and breaks at compile time if they change shape.
const PREDICT = print(PredictDocument);
const PREDICT_MANY = print(PredictManyDocument);
// Below the load hooks' range (1e6 and up), above the in-process pool.
const CACHED_TEXT_INDEX = 500_000;

const body = (query: string, variables: Record<string, unknown>) => JSON.stringify({ query, variables });
const prefix = (query: string, variable: string) => `{"query":${JSON.stringify(query)},"variables":{"${variable}":`;

async function post(url: string, payload: string): Promise<{ data?: { predict?: { cached: boolean } }; errors?: unknown[] }> {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
  if (!response.ok) throw new Error(`POST /graphql answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { data?: { predict?: { cached: boolean } }; errors?: unknown[] };
}

/** Sends the cached scenario's text once and checks that the next answer comes from the cache. */
async function primeCachedText(url: string): Promise<string> {
  const payload = body(PREDICT, { text: benchText(CACHED_TEXT_INDEX) });
  const first = await post(url, payload);
  if (first.errors) throw new Error(`priming the cached text failed: ${JSON.stringify(first.errors)}`);
  const second = await post(url, payload);
  // Without Redis the API still answers, from the model: the "cached" numbers would be a lie.
  if (second.data?.predict?.cached !== true) throw new Error('the primed text did not come back cached; is Redis reachable from the API?');
  return payload;
}

/**
 * The API's model runs and texts run since it started, from `GET /metrics` (Prometheus text):
 * the count and sum of `sift_model_run_rows`, counters that only grow.
 */
async function modelRunCounts(url: string): Promise<{ runs: number; rows: number }> {
  const exposition = await readMetrics(url);
  return { runs: seriesSum(exposition, 'sift_model_run_rows_count'), rows: seriesSum(exposition, 'sift_model_run_rows_sum') };
}

async function measureRound(ctx: ScenarioContext, spec: LoadSpec): Promise<RoundResult> {
  // autocannon stops without waiting for answers in flight; let the previous run's requests finish
  // so they do not land in this run's window.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const runsBefore = await modelRunCounts(ctx.url);
  await ctx.eventLoop.reset();
  const before = await cpuSnapshot(ctx.apiPid, ctx.redis);
  const load = await runLoad(spec);
  const after = await cpuSnapshot(ctx.apiPid, ctx.redis);
  const eventLoopDelayMs = await ctx.eventLoop.read();
  const runsAfter = await modelRunCounts(ctx.url);
  const runs = runsAfter.runs - runsBefore.runs;
  const rows = runsAfter.rows - runsBefore.rows;
  return { ...load, api: { eventLoopDelayMs, modelRuns: { runs, rows, meanRunSize: runs === 0 ? 0 : rows / runs } }, cpu: cpuShare(before, after) };
}

function combine(rounds: RoundResult[]): RoundResult & { spreadPct: number } {
  const m = (pick: (r: RoundResult) => number) => median(rounds.map(pick));
  const sum = (pick: (r: RoundResult) => number) => rounds.reduce((total, r) => total + pick(r), 0);
  const requestsPerSecond = m((r) => r.requestsPerSecond);
  return {
    seconds: sum((r) => r.seconds),
    ok: sum((r) => r.ok),
    requestsPerSecond,
    spreadPct: (100 * Math.max(...rounds.map((r) => Math.abs(r.requestsPerSecond - requestsPerSecond)))) / requestsPerSecond,
    latencyMs: { p50: m((r) => r.latencyMs.p50), p99: m((r) => r.latencyMs.p99) },
    failures: {
      non2xx: sum((r) => r.failures.non2xx),
      errors: sum((r) => r.failures.errors),
      timeouts: sum((r) => r.failures.timeouts),
      graphqlErrors: sum((r) => r.failures.graphqlErrors),
    },
    api: {
      eventLoopDelayMs: { p50: m((r) => r.api.eventLoopDelayMs.p50), p99: m((r) => r.api.eventLoopDelayMs.p99), max: Math.max(...rounds.map((r) => r.api.eventLoopDelayMs.max)) },
      modelRuns: { runs: sum((r) => r.api.modelRuns.runs), rows: sum((r) => r.api.modelRuns.rows), meanRunSize: m((r) => r.api.modelRuns.meanRunSize) },
    },
    cpu: { clientPct: m((r) => r.cpu.clientPct), apiPct: m((r) => r.cpu.apiPct), redisPct: m((r) => r.cpu.redisPct) },
  };
}

/** Share of the saturated rate offered in the paced runs. */
export const PACED_SHARE = 0.5;

/**
 * Runs the four HTTP scenarios in turn, `ctx.rounds` times: the `{ __typename }` floor, `predict`
 * on a cached text, `predict` on never-seen texts, and `predictMany` of `manyTexts` never-seen
 * texts. Each scenario reports the medians of its rounds.
 */
export async function runScenarios(ctx: ScenarioContext): Promise<ScenarioResult[]> {
  const cachedBody = await primeCachedText(ctx.url);
  const scenarios: { id: ScenarioResult['id']; title: string; body: LoadSpec['body']; texts?: number }[] = [
    { id: 'trivial', title: 'trivial { __typename }', body: { fixed: body('{ __typename }', {}) } },
    { id: 'cached', title: 'predict, cached text', body: { fixed: cachedBody } },
    { id: 'newText', title: 'predict, new text each', body: { bodyPrefix: prefix(PREDICT, 'text'), texts: 0 } },
    { id: 'many', title: `predictMany x${ctx.manyTexts} new`, body: { bodyPrefix: prefix(PREDICT_MANY, 'texts'), texts: ctx.manyTexts }, texts: ctx.manyTexts },
  ];
  const specs = scenarios.map((scenario): LoadSpec => ({ url: ctx.url, seconds: ctx.seconds, connections: ctx.connections, workers: ctx.workers, body: scenario.body }));
  // Untimed warm-up of every scenario before any timing: a fresh API's JIT needs a few seconds of
  // each code path, and a warm-up of the first scenario alone left its first round ~40% slow.
  if (ctx.warmupSeconds > 0) for (const spec of specs) await runLoad({ ...spec, seconds: ctx.warmupSeconds });
  const rounds: RoundResult[][] = scenarios.map(() => []);
  for (let round = 0; round < ctx.rounds; round++) {
    for (const [i, spec] of specs.entries()) rounds[i].push(await measureRound(ctx, spec));
  }
  const results = scenarios.map((scenario, i): ScenarioResult => {
    const combined = combine(rounds[i]);
    const rowsPerSecond = scenario.texts === undefined ? undefined : combined.requestsPerSecond * scenario.texts;
    return { id: scenario.id, title: scenario.title, ...combined, rowsPerSecond, rounds: rounds[i] };
  });
  // At saturation the event loop is never idle, so its delay measures the queue of requests, not
  // blocking: even the trivial floor shows tens of ms there. The paced runs offer half the rate
  // each new-text scenario reached, a busy but sustainable load, where a model run on the request
  // thread would show as delay and one on the inference threads does not.
  for (const id of ['newText', 'many'] as const) {
    const i = scenarios.findIndex((scenario) => scenario.id === id);
    const saturated = results[i];
    const overallRate = Math.max(1, Math.round(saturated.requestsPerSecond * PACED_SHARE));
    // Rounds and medians here too: one burst of outside work on a single short run would decide it.
    const paced: RoundResult[] = [];
    for (let round = 0; round < ctx.rounds; round++) paced.push(await measureRound(ctx, { ...specs[i], overallRate }));
    const combined = combine(paced);
    const texts = scenarios[i].texts;
    results.push({
      id: id === 'newText' ? 'newTextPaced' : 'manyPaced',
      title: `${scenarios[i].title}, paced ${overallRate}/s`,
      ...combined,
      rowsPerSecond: texts === undefined ? undefined : combined.requestsPerSecond * texts,
      rounds: paced,
    });
  }
  return results;
}
