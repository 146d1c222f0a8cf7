import type { AuthResult } from './auth-cost';
import type { BatchBenchResult } from './batch-runs';
import type { FairnessResult } from './fairness';
import type { FanoutResult, FanoutRun } from './fanout';
import type { FileResult } from './file-section';
import type { InProcessResult } from './in-process';
import type { MetricsCostResult } from './metrics-cost';
import type { ScenarioResult } from './scenarios';
import { median } from './median';

/** One target: a ratio (or a delay) measured within this run against its threshold. */
export interface TargetCheck {
  name: string;
  /** How the value was computed, e.g. "1890 / 2310 req/s". */
  detail: string;
  value: number;
  threshold: number;
  unit: '%' | 'ms' | 'MB';
  /** `min`: value must be ≥ threshold; `max`: ≤ threshold. */
  kind: 'min' | 'max';
  pass: boolean;
}

function ratio(name: string, numerator: number, denominator: number, threshold: number, what: string): TargetCheck {
  const value = (100 * numerator) / denominator;
  const detail = `${Math.round(numerator)} / ${Math.round(denominator)} ${what}`;
  return { name, detail, value, threshold, unit: '%', kind: 'min', pass: value >= threshold };
}

/**
 * A ratio of two things measured in the same rounds: the median of the per-round ratios. Each
 * pair was measured seconds apart, so a drift of the shared machine's speed over the run moves
 * both sides of a pair alike; a ratio of separate medians can pair one side's fast round with the
 * other's slow one. The detail shows every round's ratio and the ratio of the medians.
 */
function pairedRatio(name: string, numerators: readonly number[], denominators: readonly number[], threshold: number, what: string): TargetCheck {
  const perRound = numerators.map((numerator, i) => (100 * numerator) / denominators[i]);
  const value = median(perRound);
  const detail = `rounds ${perRound.map((r) => Math.round(r)).join(', ')} %; medians ${Math.round(median(numerators))} / ${Math.round(median(denominators))} ${what}`;
  return { name, detail, value, threshold, unit: '%', kind: 'min', pass: value >= threshold };
}

/**
 * The targets, as ratios within one run so they hold on any machine: cached and new-text
 * `predict` against the trivial-query floor, `predictMany` against the model's own in-process
 * speed, and the API's event-loop delay while it labels new texts.
 */
export function checkTargets(inProcess: InProcessResult, scenarios: readonly ScenarioResult[]): TargetCheck[] {
  if (scenarios.length === 0) return [];
  const get = (id: ScenarioResult['id']) => scenarios.find((s) => s.id === id)!;
  const rates = (scenario: ScenarioResult) => scenario.rounds.map((round) => round.requestsPerSecond);
  const trivial = get('trivial');
  const cached = get('cached');
  const newText = get('newText');
  const many = get('many');
  const run256 = inProcess.results.find((r) => r.runSize === 256) ?? inProcess.results[inProcess.results.length - 1];
  const newTextPaced = get('newTextPaced');
  const manyPaced = get('manyPaced');
  const worstDelay = Math.max(newTextPaced.api.eventLoopDelayMs.p99, manyPaced.api.eventLoopDelayMs.p99);
  return [
    pairedRatio('cached predict vs trivial', rates(cached), rates(trivial), 80, 'req/s'),
    pairedRatio('new-text predict vs trivial', rates(newText), rates(trivial), 60, 'req/s'),
    ratio(`predictMany vs in-process run of ${run256.runSize}`, many.rowsPerSecond ?? 0, run256.rowsPerSecond, 15, 'rows/s'),
    {
      name: 'event-loop delay p99, paced new-text runs',
      detail: `max of ${newTextPaced.api.eventLoopDelayMs.p99} (predict), ${manyPaced.api.eventLoopDelayMs.p99} (predictMany) ms; at saturation ${newText.api.eventLoopDelayMs.p99} / ${many.api.eventLoopDelayMs.p99}, floor ${trivial.api.eventLoopDelayMs.p99}`,
      value: worstDelay,
      threshold: 20,
      unit: 'ms',
      kind: 'max',
      pass: worstDelay <= 20,
    },
  ];
}

function atMost(name: string, value: number, threshold: number, detail: string): TargetCheck {
  return { name, detail, value, threshold, unit: 'MB', kind: 'max', pass: value <= threshold };
}

/**
 * The batch targets: one worker end to end against the model's in-process speed, two workers
 * against one, and the peak memory of the API while it ingests a large file and of every worker.
 */
export function checkBatchTargets(inProcess: InProcessResult, batch: BatchBenchResult): TargetCheck[] {
  const run256 = inProcess.results.find((r) => r.runSize === 256) ?? inProcess.results[inProcess.results.length - 1];
  const one = batch.runs.find((r) => r.workers === 1)!;
  const workerPeak = Math.max(...batch.runs.flatMap((r) => r.workerPeakRssMb));
  return [
    ratio(`batch, 1 worker vs in-process run of ${run256.runSize}`, one.rowsPerSecond, run256.rowsPerSecond, 15, 'rows/s'),
    // Rounds run 1 worker then 2 workers, so each round's pair is adjacent in time.
    pairedRatio('batch, 2 workers vs 1 worker', batch.rounds.filter((r) => r.workers === 2).map((r) => r.rowsPerSecond), batch.rounds.filter((r) => r.workers === 1).map((r) => r.rowsPerSecond), 120, 'rows/s'),
    atMost(`API peak RSS, ${batch.upload.rows}-row upload`, batch.upload.apiPeakRssMb, 300, `${Math.round(batch.upload.apiRssBeforeMb)} MB before the upload`),
    atMost('worker peak RSS', workerPeak, 300, `VmHWM of each worker: ${batch.runs.flatMap((r) => r.workerPeakRssMb.map(Math.round)).join(', ')} MB`),
  ];
}

/**
 * The file-to-file targets of issue 15, against the Celery peer (2 prefork workers) in the same
 * rounds: `sift batch IN OUT` with 2 workers at 3x the peer or more, with 1 worker at 1.5x or
 * more; each the median of the per-round ratios. None when the peer did not run.
 */
export function checkFileTargets(file: FileResult): TargetCheck[] {
  const memory: TargetCheck[] = file.memory
    ? [
        atMost(`sift batch CLI peak RSS, ${file.memory.file.rows}-row file`, file.memory.run.cliPeakRssMb, 300, 'the CLI probe\'s peak RSS at exit'),
        atMost(`API peak RSS, upload of a ${file.memory.file.rows}-row file`, file.memory.run.apiPeakRssMb.upload, 300, `VmRSS sampled every 100 ms; ${Math.round(file.memory.run.apiPeakRssMb.run)} MB over the whole run`),
      ]
    : [];
  if (file.peer.length === 0) return memory;
  const rates = (workers: number) => file.peer.map((p) => file.sift.find((s) => s.round === p.round && s.workers === workers)!.rowsPerSecond);
  const peer = file.peer.map((p) => p.rowsPerSecond);
  return [
    pairedRatio('sift batch IN OUT, 2 workers vs the Celery peer', rates(2), peer, 300, 'rows/s'),
    pairedRatio('sift batch IN OUT, 1 worker vs the Celery peer (2)', rates(1), peer, 150, 'rows/s'),
    ...memory,
  ];
}

const delay = (ms: number) => (ms === Infinity ? 'never' : `${Math.round(ms)} ms`);

/**
 * The fan-out targets, for every run of 1,000 subscribers or more (else the largest counts-only
 * run): every subscriber gets everything expected, the final event at most 2 s after the batch's
 * end for 99% of them, and the API at most 500 MB RSS at peak.
 */
export function checkFanoutTargets(fanout: FanoutResult): TargetCheck[] {
  let runs: FanoutRun[] = fanout.runs.filter((r) => r.subscribers >= 1000);
  if (runs.length === 0) {
    const counts = fanout.runs.filter((r) => r.kind === 'counts').sort((a, b) => b.subscribers - a.subscribers);
    runs = counts.slice(0, 1);
  }
  return runs.flatMap((r) => {
    const name = `fan-out, ${r.subscribers} ${r.kind} subscribers`;
    const reasons = Object.entries(r.shortfalls).map(([reason, count]) => `${count} ${reason}`).join(', ');
    const p99 = r.finalDelayMs.p99;
    return [
      {
        name: `${name}: delivered`,
        detail: `${r.delivered} of ${r.subscribers} got everything expected${reasons ? `; ${reasons}` : ''}`,
        value: r.deliveredPct,
        threshold: 100,
        unit: '%' as const,
        kind: 'min' as const,
        pass: r.delivered === r.subscribers,
      },
      {
        name: `${name}: final event p99 after the batch's end`,
        detail: `p50 ${delay(r.finalDelayMs.p50)}, max ${delay(r.finalDelayMs.max)}${r.missingFinal > 0 ? `; ${r.missingFinal} never got it` : ''}`,
        value: p99,
        threshold: 2000,
        unit: 'ms' as const,
        kind: 'max' as const,
        pass: p99 <= 2000,
      },
      atMost(`${name}: API peak RSS`, r.apiRssMb.peak, 500, `${Math.round(r.apiRssMb.before)} MB before the subscribers, ${Math.round(r.apiRssMb.subscribed)} MB subscribed`),
    ];
  });
}

/**
 * The auth target: `predict` with API keys on (one key, the Bearer header on every request) at
 * 90% or more of the same load with them off, for the cached text (where a request does least
 * else, so the check of the key weighs most) and for a new text each time; rounds paired.
 */
export function checkAuthTargets(auth: AuthResult): TargetCheck[] {
  return auth.scenarios.map((s) =>
    pairedRatio(`auth on vs off, ${s.title}`, s.rounds.map((r) => r.on.requestsPerSecond), s.rounds.map((r) => r.off.requestsPerSecond), 90, 'req/s'),
  );
}

/**
 * The observability target: `predict` with metrics collected and JSON log lines at info at 95% or
 * more of the same load with metrics off and logs silent, for the cached text (where a request
 * does least else, so counting and logging weigh most) and for a new text each time; rounds paired.
 */
export function checkMetricsCostTargets(result: MetricsCostResult): TargetCheck[] {
  return result.scenarios.map((s) =>
    pairedRatio(`metrics + JSON logs on vs off, ${s.title}`, s.rounds.map((r) => r.on.requestsPerSecond), s.rounds.map((r) => r.off.requestsPerSecond), 95, 'req/s'),
  );
}

/**
 * Fairness: a 10-row batch submitted behind a big one waits for at most 10% more of the big one's
 * rows; and of LOW, NORMAL and HIGH submitted in that order, HIGH completes first and LOW completes.
 */
export function checkFairnessTargets(fairness: FairnessResult): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const fair = fairness.runs.find((r) => r.schedule === 'fair');
  if (fair) {
    const floor = fairness.runs.find((r) => r.schedule !== 'fair');
    checks.push({
      name: 'fairness: more of the big batch done while a 10-row batch waited',
      detail: `${fair.bigDoneAtSmallDone - fair.bigDoneAtSubmit} of ${fair.bigRows} rows in ${fair.smallSeconds.toFixed(2)} s${floor ? `; first come, first served: ${floor.extraPct.toFixed(1)}%` : ''}`,
      value: fair.extraPct,
      threshold: 10,
      unit: '%',
      kind: 'max',
      pass: fair.extraPct <= 10,
    });
  }
  if (fairness.priorities.length > 0) {
    const order = fairness.priorities.map((b) => b.name);
    const highFirst = order[0] === 'HIGH';
    const lowDone = order.includes('LOW');
    checks.push({
      name: 'fairness: HIGH completes first, and LOW completes',
      detail: `completion order ${order.join(', ')} (submitted LOW, NORMAL, HIGH)`,
      value: highFirst && lowDone ? 100 : 0,
      threshold: 100,
      unit: '%',
      kind: 'min',
      pass: highFirst && lowDone,
    });
  }
  return checks;
}
