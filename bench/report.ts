import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AuthResult } from './auth-cost';
import type { BatchBenchResult } from './batch-runs';
import { peerCpuSeconds } from './celery-peer';
import { EXPECTED, type FanoutResult } from './fanout';
import { SIFT_PHASES, type SiftFileRun, type SiftPhase } from './file-runs';
import { medianRatio, medianRun, spreadPct, type FileResult } from './file-section';
import type { FaultsResult } from './faults';
import type { FairnessResult } from './fairness';
import type { FootprintResult } from './footprint';
import type { InProcessResult } from './in-process';
import type { MetricsCostResult } from './metrics-cost';
import type { ScenarioResult } from './scenarios';
import type { TargetCheck } from './targets';
import { median } from './median';

/** Everything one run measured; written as JSON. */
export interface BenchReport {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; node: string; platform: string };
  settings: Record<string, string | number>;
  /** The model measured in-process (run with the online and batch sections, whose targets use it). */
  inProcess?: InProcessResult;
  http: ScenarioResult[];
  /** The batch section, when it ran. */
  batch?: BatchBenchResult;
  /** The file-to-file section (`sift batch IN OUT`, and the Celery peer), when it ran. */
  fileToFile?: FileResult;
  /** The fan-out section, when it ran. */
  fanout?: FanoutResult;
  /** The fairness section, when it ran. */
  fairness?: FairnessResult;
  /** The Redis footprint section, when it ran. */
  footprint?: FootprintResult;
  /** The auth section (predict with API keys on against off), when it ran. */
  auth?: AuthResult;
  /** The online section's pairing of predict with metrics and JSON logs on against off, when it ran. */
  metricsCost?: MetricsCostResult;
  /** The faults section, when it ran. */
  faults?: FaultsResult;
  targets: TargetCheck[];
  failures: number;
}

/** Plain-text table with columns padded to their widest cell (numbers right-aligned; the first column, and those in `textColumns`, left-aligned). */
function table(header: string[], rows: string[][], textColumns: readonly number[] = []): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 || textColumns.includes(c) ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
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
  const sections = [
    inProcess && inProcessSection(inProcess),
    report.http.length > 0 && httpSection(report),
    report.metricsCost && metricsCostSection(report.metricsCost),
    report.auth && authSection(report.auth),
    report.batch && batchSection(report.batch),
    report.fileToFile && fileToFileSection(report.fileToFile),
    report.fairness && fairnessSection(report.fairness),
    report.fanout && fanoutSection(report.fanout),
    report.footprint && footprintSection(report.footprint),
    report.faults && faultsSection(report.faults),
  ];
  for (const section of sections) if (section) out.push('', ...section);
  if (report.targets.length > 0) {
    out.push('');
    out.push('Targets (ratios within this run, and limits)');
    out.push(
      table(
        ['target', 'value', 'needed', 'result', 'from'],
        report.targets.map((t) => [t.name, `${n(t.value, 1)} ${t.unit}`, `${t.kind === 'min' ? '>=' : '<='} ${t.threshold} ${t.unit}`, t.pass ? 'PASS' : 'FAIL', t.detail]),
      ),
    );
  }
  if (report.auth) {
    const loads = report.auth.scenarios.flatMap((s) => s.rounds.flatMap((r) => [{ side: `${s.title}, auth off`, load: r.off }, { side: `${s.title}, auth on`, load: r.on }]));
    const bad = loads.filter(({ load: { failures: f } }) => f.non2xx + f.errors + f.graphqlErrors > 0);
    out.push('', bad.length === 0 ? 'Auth responses: every one HTTP 2xx without GraphQL errors.' : `Auth responses: FAILED in ${bad.map(({ side, load: { failures: f } }) => `${side} (non-2xx ${f.non2xx}, connection errors ${f.errors}, GraphQL errors ${f.graphqlErrors})`).join('; ')}`);
  }
  if (report.http.length === 0) return out.join('\n');
  out.push('');
  const failed = report.http.filter((s) => s.failures.non2xx + s.failures.errors + s.failures.graphqlErrors > 0);
  out.push(
    failed.length === 0
      ? 'Responses: every one HTTP 2xx without GraphQL errors.'
      : `Responses: FAILED in ${failed.map((s) => `${s.title} (non-2xx ${s.failures.non2xx}, connection errors ${s.failures.errors}, timeouts ${s.failures.timeouts}, GraphQL errors ${s.failures.graphqlErrors})`).join('; ')}`,
  );
  return out.join('\n');
}

function inProcessSection(inProcess: InProcessResult): string[] {
  const out: string[] = [];
  out.push(`In-process model ${inProcess.model}@${inProcess.version}: tokenize + infer on one thread (intraOpThreads ${inProcess.intraOpThreads}), ${inProcess.secondsPerRunSize} s each`);
  out.push(table(['run size', 'rows/s', 'ms/run', 'runs'], inProcess.results.map((r) => [String(r.runSize), n(r.rowsPerSecond), n(r.msPerRun, 3), n(r.runs)])));
  return out;
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

function fileToFileSection(result: FileResult): string[] {
  const { file } = result;
  const sides = [1, 2].map((workers) => ({ workers, runs: result.sift.filter((r) => r.workers === workers) })).filter((s) => s.runs.length > 0);
  const medians = sides.map((s) => ({ ...s, middle: medianRun(s.runs) }));
  const cpu = (value: number) => n(value, 1);
  const rows = medians.map(({ workers, runs, middle }) => [
    `sift, ${workers} worker${workers === 1 ? '' : 's'}`,
    n(middle.rowsPerSecond),
    `${n(spreadPct(runs))}%`,
    n(middle.seconds, 2),
    cpu(middle.cpuSeconds.cli),
    cpu(middle.cpuSeconds.api),
    cpu(middle.cpuSeconds.workers),
    cpu(middle.cpuSeconds.redis),
    n(middle.cliPeakRssMb),
  ]);
  if (result.peer.length > 0) {
    const middle = medianRun(result.peer);
    rows.push([`Celery peer, ${middle.workers} workers`, n(middle.rowsPerSecond), `${n(spreadPct(result.peer))}%`, n(middle.seconds, 2), cpu(middle.cpuSeconds.client), '-', cpu(middle.cpuSeconds.workers), cpu(middle.cpuSeconds.redis), n(middle.clientPeakRssMb)]);
  }
  const out = [
    `File to file: \`sift batch IN OUT --id-column id --json\` (node dist/src/cli/sift.js, a child process) on a ${n(file.rows)}-row CSV (${n(file.bytes / 1e6, 1)} MB, ${n(file.repeatedPct, 1)}% repeated texts),`,
    'cold cache; an API child and its workers (1, or 2) started once, warmed on a smaller file and kept up across rounds, as the peer\'s workers are; OUT checked: every row labelled, in input order.',
    result.peer.length > 0
      ? 'The Celery peer (its client.py chunked, 2 prefork workers, its own Redis db) on the same file, cold cache; its output checked the same way.'
      : `The Celery peer did not run: ${result.peerNotRun}.`,
    `${result.rounds} rounds, the order reversing each round (1 worker, 2, peer; then peer, 2, 1); medians (spread = farthest round from the median rows/s);`,
    'seconds = the spawn of the client (sift, or the peer\'s client.py) to its exit; cpu = CPU seconds of each process over that time (client = sift or client.py)',
    table(['side', 'rows/s', 'spread', 'seconds', 'cpu client', 'cpu api', 'cpu workers', 'cpu redis', 'client peak RSS MB'], rows),
  ];
  const rounds = Array.from({ length: result.rounds }, (_, i) => i + 1);
  const rate = (runs: readonly { round: number; rowsPerSecond: number }[], round: number) => n(runs.find((r) => r.round === round)?.rowsPerSecond);
  const withPeer = result.peer.length > 0;
  const ratio = (ratios: number[], i: number) => (withPeer ? `${n(ratios[i], 0)}%` : '-');
  // The peer's CPU (client, workers and Redis) against its wall time in each round: a round slower
  // than another with the same CPU waited, rather than computed, for the difference.
  const peerCpu = (round: number) => {
    const run = result.peer.find((r) => r.round === round);
    return run ? `${n(peerCpuSeconds(run), 2)} in ${n(run.seconds, 2)}, ${n(run.idleSeconds, 2)} idle` : '-';
  };
  const perRound = rounds.map((round, i) => [
    String(round),
    rate(result.sift.filter((r) => r.workers === 1), round),
    rate(result.sift.filter((r) => r.workers === 2), round),
    withPeer ? rate(result.peer, round) : '-',
    ratio(result.ratiosPct.twoWorkers, i),
    ratio(result.ratiosPct.oneWorker, i),
    withPeer ? peerCpu(round) : '-',
  ]);
  perRound.push(['median', ...medians.map((m) => n(m.middle.rowsPerSecond)), withPeer ? n(medianRun(result.peer).rowsPerSecond) : '-', withPeer ? `${n(medianRatio(result.ratiosPct.twoWorkers))}%` : '-', withPeer ? `${n(medianRatio(result.ratiosPct.oneWorker))}%` : '-', '']);
  out.push('Every round, rows/s (sift/peer = Sift\'s rows/s over the peer\'s in the same round; median row: the median of each column;');
  out.push('peer CPU s in wall s: the CPU seconds of its client, workers and Redis, and its seconds, in that round; idle: seconds in which');
  out.push('neither its client nor its workers used any CPU, in spans of 0.3 s or more, read every 100 ms)');
  out.push(table(['round', 'sift 1 worker', 'sift 2 workers', 'Celery peer', 'sift 2 / peer', 'sift 1 / peer', 'peer CPU s in wall s, idle'], perRound));
  if (withPeer) {
    // Not a target: the peer's speed with its pauses (Celery waiting for its next poll) taken out,
    // which moves far less from round to round than its speed with them.
    const working = median(result.peer.map((run) => run.rows / (run.seconds - run.idleSeconds)));
    const twoWorkers = medians.find((m) => m.workers === 2)?.middle.rowsPerSecond;
    out.push(
      `The peer between its pauses (rows over seconds less idle seconds, median of rounds): ${n(working)} rows/s${twoWorkers === undefined ? '' : `; Sift's 2-worker median is ${n((100 * twoWorkers) / working)}% of that`} (for reference, not a target).`,
    );
  }
  out.push('Phases of each median run: wall seconds, and CPU seconds of each process in the phase (read off samples every 100 ms; the CLI\'s exact at its exit).');
  for (const [phase, { title, detail }] of Object.entries(SIFT_PHASES)) out.push(`  ${title}: ${detail}`);
  out.push('  start + upload is the CLI\'s read and upload; the workers begin on the first chunks during the upload');
  const phaseRows = medians.flatMap(({ workers, middle }) => [
    ...(Object.keys(SIFT_PHASES) as SiftPhase[]).map((phase) => phaseRow(`${workers}`, SIFT_PHASES[phase].title, middle.phases[phase].seconds, middle.phases[phase].cpuSeconds)),
    phaseRow(`${workers}`, 'total', middle.seconds, middle.cpuSeconds),
  ]);
  out.push(table(['workers', 'phase', 'seconds', 'cpu cli', 'cpu api', 'cpu workers', 'cpu redis'], phaseRows, [1]));
  if (result.memory) {
    const { file: big, run } = result.memory;
    out.push(
      `Memory: one run with 2 workers on a ${n(big.rows)}-row CSV (${n(big.bytes / 1e6, 1)} MB): ${n(run.seconds, 2)} s (${n(run.rowsPerSecond)} rows/s); peak RSS of the CLI ${n(run.cliPeakRssMb)} MB, of the API ${n(run.apiPeakRssMb.upload)} MB in the upload and ${n(run.apiPeakRssMb.run)} MB over the run (sampled every 100 ms), of the workers since they started ${run.workerPeakRssMb.map((m) => n(m)).join(', ')} MB`,
    );
  }
  const again = result.sift.filter((r) => r.downloads > 1);
  out.push(`Runs whose results download the CLI made again from the start (it broke off or came short): ${again.length} of ${result.sift.length}${again.length > 0 ? ` (${again.map((r) => `round ${r.round}, ${r.workers} worker${r.workers === 1 ? '' : 's'}`).join('; ')})` : ''}`);
  for (const { workers, middle } of medians) {
    out.push(`${workers} worker${workers === 1 ? '' : 's'}: labelling began ${n(middle.labellingBeganSeconds, 2)} s after the spawn; the results download was asked for ${n(middle.downloadAskedSeconds, 2)} s after the 202 and ended ${n(middle.downloadEndedSeconds, 2)} s after COMPLETED${middle.downloads > 1 ? ` (${middle.downloads} downloads: the CLI made it again)` : ''}; ${n(middle.cachedRows)} rows from cache, ${n(middle.failedRows)} failed; worker peak RSS since start ${middle.workerPeakRssMb.map((m) => n(m)).join(', ')} MB`);
  }
  return out;
}

function phaseRow(workers: string, title: string, seconds: number, cpu: SiftFileRun['cpuSeconds']): string[] {
  return [workers, title, n(seconds, 2), n(cpu.cli, 2), n(cpu.api, 2), n(cpu.workers, 2), n(cpu.redis, 2)];
}

/** A delay in ms; "never" when some subscriber never got its final event (the percentile falls on one). */
const ms = (value: number) => (value === Infinity ? 'never' : n(value));

function fanoutSection(fanout: FanoutResult): string[] {
  const { file } = fanout;
  const first = fanout.runs[0];
  const out = [
    `Fan-out: batchProgress subscribers on one API process (SIFT_WORKERS=0) during a ${n(file.rows)}-row batch (${n(file.repeatedPct, 1)}% repeated texts, cold cache, ${first?.workers ?? 2} worker processes),`,
    'all subscribed from one clients process (one graphql-ws client and WebSocket each) before the workers start;',
    'counts = the client\'s BatchProgressCounts document (a progress bar), rows = the same plus rows { index }.',
    `Delivered = received everything expected. counts: ${EXPECTED.counts}. rows: ${EXPECTED.rows}.`,
    `final = when a subscriber's final event arrived minus the batch's finishedAt (never: it did not arrive within ${fanout.graceSeconds} s);`,
    'RSS = the API\'s before the subscribers, once subscribed, and the peak (every 20 ms) during the batch; cpu = % of one core from the batch\'s start until the last subscription ended (window)',
    table(
      ['kind', 'subscribers', 'delivered', 'batch s', 'final p50 ms', 'p99 ms', 'max ms', 'events/sub', 'rows recv', 'api RSS MB', 'cpu api', 'cpu clients', 'cpu workers', 'cpu redis', 'window s'],
      fanout.runs.map((r) => [
        r.kind,
        n(r.subscribers),
        `${n(r.deliveredPct, 1)}%`,
        n(r.batchSeconds, 1),
        ms(r.finalDelayMs.p50),
        ms(r.finalDelayMs.p99),
        ms(r.finalDelayMs.max),
        `${n(r.eventsPerSubscriber.min)}-${n(r.eventsPerSubscriber.max)}`,
        r.kind === 'rows' ? n(r.rowsReceived) : '-',
        `${n(r.apiRssMb.before)}/${n(r.apiRssMb.subscribed)}/${n(r.apiRssMb.peak)}`,
        n(r.cpu.apiPct),
        n(r.cpu.clientsPct),
        n(r.cpu.workersPct),
        n(r.cpu.redisPct),
        n(r.cpu.seconds, 1),
      ]),
    ),
  ];
  for (const r of fanout.runs) {
    const reasons = Object.entries(r.shortfalls);
    if (reasons.length === 0 && !r.cutOff) continue;
    const cut = r.cutOff ? `; still open ${fanout.graceSeconds} s after the batch's end, so the bench stopped waiting` : '';
    out.push(`${r.kind} x${r.subscribers} not delivered: ${reasons.map(([reason, count]) => `${count} ${reason}`).join(', ') || 'none'}${cut}`);
  }
  for (const r of fanout.runs) {
    const failures = Object.entries(r.pollFailures ?? {});
    if (failures.length > 0) out.push(`${r.kind} x${r.subscribers}: the bench's batch query (every 100 ms) failed and was tried again: ${failures.map(([reason, count]) => `${count} ${reason}`).join(', ')}`);
  }
  for (const line of fanout.notRun) out.push(`not run: ${line}`);
  return out;
}

function footprintSection(footprint: FootprintResult): string[] {
  const { file, queued, after, cache, redisCpu } = footprint;
  const perRow = (figure: { byGroup: Record<string, { keys: number; bytes: number }> }, group: string) => {
    const found = figure.byGroup[group];
    return found ? `${n(found.bytes / file.rows)} (${n(found.keys)})` : '-';
  };
  const groups = ['input chunks', 'bee-queue', 'results', 'record and indexes', 'other'];
  return [
    `Redis footprint of a ${n(file.rows)}-row upload of the bench's texts (${n(file.repeatedPct, 1)}% repeated, ${n(file.distinctTexts)} distinct) on a private redis-server ${footprint.redis.version} (${footprint.redis.allocator});`,
    `a row's text is ${n(footprint.textBytesPerRow, 1)} bytes on average, its CSV line ${n(footprint.csvBytesPerRow, 1)}. bytes/row = INFO memory used_memory against the baseline before the upload;`,
    'the key groups: MEMORY USAGE of their keys per row (keys in brackets), without Redis\'s own key tables',
    table(
      ['state', 'bytes/row', 'MB', ...groups],
      [
        ['queued (uploaded, no worker)', n(queued.bytesPerRow), n(queued.usedMemoryDelta / 1e6, 1), ...groups.map((g) => perRow(queued, g))],
        ['after (completed by 1 worker, cache not counted)', n(after.bytesPerRow), n(after.usedMemoryDelta / 1e6, 1), ...groups.map((g) => perRow(after, g))],
      ],
    ),
    `The prediction cache adds ${n(cache.bytesPerEntry)} bytes per distinct text (what deleting its ${n(cache.entries)} entries, fields of ${n(cache.hashes)} hashes, freed: ${n(cache.usedMemoryDelta / 1e6, 1)} MB).`,
    `Redis CPU per row (INFO cpu, user + sys): ingest ${n(redisCpu.ingestUsPerRow, 1)} µs, labelling ${n(redisCpu.labelUsPerRow, 1)} µs (1 worker, cold cache, ${n(redisCpu.workerRowsPerSecond)} rows/s);`,
    `one Redis's command thread would be busy all the time at about ${n(redisCpu.ceilingRowsPerSecond)} rows/s of ingest + labelling like these: the most one Redis serves, whatever the number of workers.`,
  ];
}

function authSection(auth: AuthResult): string[] {
  const load = (l: AuthResult['scenarios'][number]['off']) => [n(l.requestsPerSecond), n(l.latencyMs.p50), n(l.latencyMs.p99), n(l.apiCpuPct)];
  return [
    `Auth: predict against two API children alike but for SIFT_AUTH (off; keys, one key with scope ${auth.keyScopes.join(',')} and the Bearer header on every request),`,
    `rate limits on (far out of reach) on both; ${auth.rounds} rounds of ${auth.secondsPerRound} s a side, ${auth.connections} connections, the side that goes first alternating; medians of rounds;`,
    'on/off = the median of the per-round ratios of req/s (cpu api = % of one core)',
    table(
      ['scenario', 'off req/s', 'p50 ms', 'p99 ms', 'cpu api', 'on req/s', 'p50 ms', 'p99 ms', 'cpu api', 'on/off', 'rounds'],
      auth.scenarios.map((s) => [
        s.title,
        ...load(s.off),
        ...load(s.on),
        `${n(median(s.roundRatiosPct), 1)}%`,
        s.roundRatiosPct.map((r) => n(r)).join(', '),
      ]),
    ),
  ];
}

function metricsCostSection(result: MetricsCostResult): string[] {
  const load = (l: MetricsCostResult['scenarios'][number]['off']) => [n(l.requestsPerSecond), n(l.latencyMs.p50), n(l.latencyMs.p99), n(l.apiCpuPct)];
  const env = (settings: Record<string, string>) => Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(' ');
  const failed = result.scenarios.flatMap((s) => s.rounds.flatMap((r) => [r.off, r.on])).reduce((sum, l) => sum + l.failures.non2xx + l.failures.errors + l.failures.graphqlErrors, 0);
  return [
    `Metrics and logs: predict against two API children alike but for on (${env(result.on)}, the log to a file) and off (${env(result.off)});`,
    `${result.rounds} rounds of ${result.secondsPerRound} s a side, ${result.connections} connections, the side that goes first alternating; medians of rounds;`,
    'on/off = the median of the per-round ratios of req/s (cpu api = % of one core)',
    table(
      ['scenario', 'off req/s', 'p50 ms', 'p99 ms', 'cpu api', 'on req/s', 'p50 ms', 'p99 ms', 'cpu api', 'on/off', 'rounds'],
      result.scenarios.map((s) => [s.title, ...load(s.off), ...load(s.on), `${n(median(s.roundRatiosPct), 1)}%`, s.roundRatiosPct.map((r) => n(r)).join(', ')]),
    ),
    `The on side wrote ${n(result.onSide.logLines)} log lines (${n(result.onSide.logBytes / 1e6, 1)} MB, ${result.onSide.jsonLogLines ? 'every one a JSON object' : 'NOT all JSON objects'}) and its /metrics counted ${n(result.onSide.operationsCounted)} GraphQL operations;`,
    failed === 0 ? 'every response HTTP 2xx without GraphQL errors.' : `FAILED: ${n(failed)} responses were not 2xx or carried GraphQL errors.`,
  ];
}

function fairnessSection(fairness: FairnessResult): string[] {
  const big = fairness.runs[0]?.bigRows;
  return [
    `Fairness, 1 worker: a ${n(big)}-row batch uploaded, a ${n(fairness.runs[0]?.smallRows)}-row batch submitted 1 s after the upload's answer;`,
    'more of the big batch done while the small one waited, under the schedule and with every chunk queued at once (first come, first served)',
    table(
      ['schedule', 'SIFT_SCHEDULE_WINDOW', 'big done at submit', 'big done at small done', 'more of the big batch', 'small batch took'],
      fairness.runs.map((r) => [r.schedule, n(r.window), n(r.bigDoneAtSubmit), n(r.bigDoneAtSmallDone), `${n(r.extraPct, 1)}%`, `${n(r.smallSeconds, 2)} s`]),
    ),
    'Priorities, 1 worker: LOW, NORMAL and HIGH batches uploaded in that order; in the order they completed',
    table(
      ['batch', 'rows', 'submitted at', 'completed at'],
      fairness.priorities.map((b) => [b.name, n(b.rows), `${n(b.submittedAtSeconds, 1)} s`, `${n(b.completedAtSeconds, 1)} s`]),
    ),
  ];
}

function faultsSection(faults: FaultsResult): string[] {
  const { file } = faults;
  return [
    `Faults: a ${n(file.rows)}-row batch (${n(file.repeatedPct, 1)}% repeated texts, cold cache) with 1 worker, on a private redis-server ${faults.redis.version} (appendonly yes, appendfsync ${faults.redis.appendfsync});`,
    `each batch fault strikes once ${Math.round(faults.faultAt * 100)}% of the rows are processed, and is set against a fault-free run of the same file just before it (times: the record's createdAt to finishedAt);`,
    `SIFT_STALL_INTERVAL_MS ${faults.stallIntervalMs}. Rows lost / duplicated: from the final counts and the results download (every index once), and for the subscriber the rows it received`,
    table(
      ['fault', 'what it cost', 'rows lost', 'rows duplicated', 'what the operator did'],
      faults.rows.map((r) => [r.fault, r.cost, r.rowsLost === null ? '-' : n(r.rowsLost), r.rowsDuplicated === null ? '-' : n(r.rowsDuplicated), r.operator]),
      [1, 4],
    ),
    ...faults.rows.map((r) => `- ${r.fault}: ${r.details}`),
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
