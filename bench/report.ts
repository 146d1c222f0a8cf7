import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BatchBenchResult } from './batch-runs';
import type { InProcessResult } from './in-process';
import type { ScenarioResult } from './scenarios';
import type { TargetCheck } from './targets';

/** Everything one run measured; written as JSON. */
export interface BenchReport {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; node: string; platform: string };
  settings: Record<string, string | number>;
  inProcess: InProcessResult;
  http: ScenarioResult[];
  /** The batch section, when it ran. */
  batch?: BatchBenchResult;
  targets: TargetCheck[];
  failures: number;
}

/** Plain-text table with columns padded to their widest cell (numbers right-aligned). */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const n = (value: number | undefined, digits = 0) =>
  value === undefined || !Number.isFinite(value) ? '-' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The report as text to print, and to paste into an issue note. */
export function formatReport(report: BenchReport): string {
  const { machine, settings, inProcess } = report;
  const out: string[] = [];
  out.push(`Sift bench ${report.startedAt}`);
  out.push(`machine: ${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}, ${machine.platform}`);
  out.push(`settings: ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  out.push('');
  out.push(`In-process model ${inProcess.model}@${inProcess.version}: tokenize + infer on one thread (intraOpThreads ${inProcess.intraOpThreads}), ${inProcess.secondsPerRunSize} s each`);
  out.push(table(['run size', 'rows/s', 'ms/run', 'runs'], inProcess.results.map((r) => [String(r.runSize), n(r.rowsPerSecond), n(r.msPerRun, 3), n(r.runs)])));
  if (report.http.length > 0) out.push('', ...httpSection(report));
  if (report.batch) out.push('', ...batchSection(report.batch));
  out.push('');
  out.push('Targets (ratios within this run)');
  out.push(
    table(
      ['target', 'value', 'needed', 'result', 'from'],
      report.targets.map((t) => [t.name, `${n(t.value, 1)} ${t.unit}`, `${t.kind === 'min' ? '>=' : '<='} ${t.threshold} ${t.unit}`, t.pass ? 'PASS' : 'FAIL', t.detail]),
    ),
  );
  out.push('');
  const failed = report.http.filter((s) => s.failures.non2xx + s.failures.errors + s.failures.graphqlErrors > 0);
  out.push(
    failed.length === 0
      ? 'Responses: every one HTTP 2xx without GraphQL errors.'
      : `Responses: FAILED in ${failed.map((s) => `${s.title} (non-2xx ${s.failures.non2xx}, connection errors ${s.failures.errors}, timeouts ${s.failures.timeouts}, GraphQL errors ${s.failures.graphqlErrors})`).join('; ')}`,
  );
  return out.join('\n');
}

function batchSection(batch: BatchBenchResult): string[] {
  const { file, upload } = batch;
  return [
    `Batches: a ${n(file.rows)}-row CSV (${n(file.bytes / 1e6, 1)} MB, ${n(file.repeatedPct, 1)}% repeated texts) through POST /batches until every result is downloadable, cold cache;`,
    `the median of ${batch.rounds.length / 2} alternating rounds each (spread = farthest round from the median rows/s; cpu = % of one core over the run)`,
    table(
      ['workers', 'rows/s', 'spread', 'seconds', 'upload s', 'cached', 'failed', 'cpu api', 'cpu workers', 'cpu redis', 'worker peak RSS MB'],
      batch.runs.map((r) => [
        String(r.workers),
        n(r.rowsPerSecond),
        `${n(batch.spreadPct[r.workers])}%`,
        n(r.seconds, 1),
        n(r.uploadSeconds, 1),
        n(r.cachedRows),
        n(r.failedRows),
        n(r.cpu.apiPct),
        n(r.cpu.workersPct),
        n(r.cpu.redisPct),
        r.workerPeakRssMb.map((m) => n(m)).join(', '),
      ]),
    ),
    `Upload of ${n(upload.rows)} rows (${n(upload.bytes / 1e6, 1)} MB) with no worker running: ${n(upload.seconds, 1)} s, ${n(upload.rowsPerSecond)} rows/s ingested; API RSS ${n(upload.apiRssBeforeMb)} MB before, ${n(upload.apiPeakRssMb)} MB at peak`,
  ];
}

function httpSection(report: BenchReport): string[] {
  const out: string[] = [];
  out.push('HTTP scenarios against the API child process, medians of rounds (spread = farthest round from the median req/s;');
  out.push('loop p99 = API event-loop delay p99; run = mean texts per model run; cpu = % of one core, client = load generator)');
  out.push(
    table(
      ['scenario', 'req/s', 'spread', 'rows/s', 'p50 ms', 'p99 ms', 'loop p99', 'run', 'cpu client', 'cpu api', 'cpu redis', 'failures'],
      report.http.map((s) => [
        s.title,
        n(s.requestsPerSecond),
        `${n(s.spreadPct)}%`,
        n(s.rowsPerSecond),
        n(s.latencyMs.p50),
        n(s.latencyMs.p99),
        n(s.api.eventLoopDelayMs.p99, 1),
        s.api.modelRuns.meanRunSize === 0 ? '-' : n(s.api.modelRuns.meanRunSize, 1),
        n(s.cpu.clientPct),
        n(s.cpu.apiPct),
        n(s.cpu.redisPct),
        n(s.failures.non2xx + s.failures.errors + s.failures.graphqlErrors),
      ]),
    ),
  );
  return out;
}

/** Writes the report to `<dir>/<ISO timestamp>.json` and `<dir>/latest.json`; returns the first path. */
export async function writeReport(report: BenchReport, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  // Colons are not allowed in Windows file names, and awkward in shells.
  const file = path.join(dir, `${report.startedAt.replace(/:/g, '-')}.json`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  await writeFile(file, json);
  await writeFile(path.join(dir, 'latest.json'), json);
  return file;
}
