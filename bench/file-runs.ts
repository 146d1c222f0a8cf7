import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { BatchDocument } from '../src/client/generated/graphql';
import { SiftClient } from '../src/client/sift-client';
import { deleteKeys } from './api-process';
import type { BatchFile } from './batch-files';
import { memoryMb, type BatchBenchContext, type WorkerChild } from './batch-runs';
import type { Cleanup } from './cleanup';
import type { CliProbeReport, ProbedRequest } from './cli-probe';
import { procSeconds, redisSeconds } from './cpu';
import { CpuTimeline } from './cpu-timeline';
import { childNodeArgs } from './settings';
import { runTimedClient } from './timed-client';
import { labelledRowsOf } from './output-rows';

/** The processes whose CPU a Sift file-to-file run reports. */
export const SIFT_PARTIES = ['cli', 'api', 'workers', 'redis'] as const;
export type SiftParty = (typeof SIFT_PARTIES)[number];

/** The phases of `sift batch IN OUT`, in order, with where each begins and ends; their seconds add up to the run's. */
export const SIFT_PHASES = {
  start: { title: 'start', detail: 'Node, the CLI\'s modules, the input\'s header checked: the spawn to POST /batches sent' },
  upload: { title: 'upload', detail: 'the CLI reads and sends the file, the API parses and queues it: to the API\'s 202' },
  labelling: { title: 'queue to COMPLETED', detail: 'the rest of the labelling: the 202 to the batch record\'s finishedAt; the CLI downloads the results (following the batch) and writes OUT meanwhile' },
  output: { title: 'after COMPLETED', detail: 'the progress event, the rest of the download and merge: finishedAt to the CLI\'s exit' },
} as const;
export type SiftPhase = keyof typeof SIFT_PHASES;

export interface PhaseFigures {
  seconds: number;
  /** CPU seconds of each process in the phase (read off 100 ms samples, exact at the CLI's exit). */
  cpuSeconds: Record<SiftParty, number>;
}

/** One `sift batch IN OUT` from a cold cache, with `workers` worker processes (kept up across rounds). */
export interface SiftFileRun {
  round: number;
  workers: number;
  rows: number;
  /** From spawning the CLI until it exited. */
  seconds: number;
  rowsPerSecond: number;
  phases: Record<SiftPhase, PhaseFigures>;
  /** When the CLI asked for the results download (which follows the batch), after the API's 202. */
  downloadAskedSeconds: number;
  /** When the (last) download's last byte came, after the batch record's finishedAt. */
  downloadEndedSeconds: number;
  /** Results downloads the CLI made: 1, or more when one broke off or came short and was made again. */
  downloads: number;
  /** When the first chunk was taken (the record's startedAt), after the spawn: labelling overlaps the upload. */
  labellingBeganSeconds: number;
  /** CPU seconds of each process over the whole run. */
  cpuSeconds: Record<SiftParty, number>;
  cachedRows: number;
  failedRows: number;
  /** Rows of OUT with a label (and no error), checked in input order by id. */
  labelledRows: number;
  cliPeakRssMb: number;
  /** The API child's RSS at its highest during the run, and during the upload phase (sampled every 100 ms; the child is shared by every run, so not its VmHWM). */
  apiPeakRssMb: { run: number; upload: number };
  /** Each worker's peak RSS since it started (VmHWM): the workers serve every run of their count, the warm-up's too. */
  workerPeakRssMb: number[];
}

/** What `sift batch --json` prints (docs/cli.md). */
interface BatchSummary {
  id: string;
  status: string;
  total: number;
  cached: number;
  failed: number;
}

type AnsweredRequest = ProbedRequest & { headersAt: number };

/** The CLI's requests matching `method` and `pattern`, in order: `expected` of them (or at least one), every one answered. */
function requests(report: CliProbeReport, method: string, pattern: RegExp, what: string, expected: 'one' | 'some'): AnsweredRequest[] {
  const found = report.requests.filter((r) => r.method === method && pattern.test(r.path));
  if (found.length === 0 || (expected === 'one' && found.length !== 1) || found.some((r) => r.headersAt === undefined)) {
    throw new Error(`the CLI probe saw ${found.length} ${what} request(s) (${found.map((r) => `${r.path} ${r.status ?? r.error ?? 'unanswered'}`).join('; ') || 'none'}), expected ${expected === 'one' ? 'one' : 'at least one, every one'} answered`);
  }
  return found as AnsweredRequest[];
}

/** Throws when a worker has exited: its run would not have the workers it says. */
function assertAlive(children: readonly WorkerChild[], when: string): void {
  const gone = children.find((w) => w.child.exitCode !== null || w.child.signalCode !== null);
  if (gone) throw new Error(`worker ${gone.child.pid} exited (code ${gone.child.exitCode}, signal ${gone.child.signalCode}) ${when} a file run`);
}

/**
 * Runs `node dist/src/cli/sift.js batch IN OUT --id-column id --json` against the API of
 * `context`, served by `children` (up already, and the only workers of that API's queue) from a
 * cold cache (the run's cached predictions are deleted first), the CLI probe preloaded. Checks the
 * CLI's exit, its summary and OUT (every row labelled, in order), then splits the time into
 * SIFT_PHASES with each process's CPU.
 */
export async function runSiftFile(context: BatchBenchContext, file: BatchFile, children: readonly WorkerChild[], round: number, dir: string, cleanup: Cleanup): Promise<SiftFileRun> {
  const workers = children.length;
  // Workers kept up across runs: one that died since would make this run one with fewer workers.
  assertAlive(children, 'before');
  await deleteKeys(context.redisUrl, `${context.keyPrefix}pred:`);
  const output = path.join(dir, `out-${workers}.csv`);
  const probeFile = path.join(dir, `cli-probe-${workers}.json`);
  rmSync(probeFile, { force: true });
  const redis = new Redis(context.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  const client = new SiftClient(context.url);
  let cliPid: number | undefined;
  const apiRssSamples: [at: number, mb: number][] = [];
  const sampleApiRss = () => void apiRssSamples.push([Date.now(), memoryMb(context.apiPid, 'VmRSS')]);
  let stopApiRss = () => undefined as void;
  const timeline = new CpuTimeline<SiftParty>({
    cli: () => (cliPid === undefined ? NaN : procSeconds(cliPid)),
    api: () => procSeconds(context.apiPid),
    workers: () => children.reduce((sum, w) => sum + procSeconds(w.child.pid!), 0),
    redis: () => redisSeconds(redis),
  });
  try {
    await timeline.start(100);
    sampleApiRss();
    const apiRss = setInterval(sampleApiRss, 100);
    stopApiRss = () => clearInterval(apiRss);
    const { code, stdout, stderrTail, spawnAt } = await runTimedClient(
      process.execPath,
      [...childNodeArgs('BENCH_CLI_NODE_ARGS'), '--require', path.join(context.projectRoot, 'dist', 'bench', 'cli-probe.js'), path.join(context.projectRoot, 'dist', 'src', 'cli', 'sift.js'), 'batch', file.path, output, '--id-column', 'id', '--json', '--url', context.url],
      { cwd: context.projectRoot, env: { ...process.env, BENCH_CLI_PROBE_FILE: probeFile } },
      { timeline, party: 'cli', cleanup, onSpawn: (pid) => (cliPid = pid) },
    );
    await timeline.stop();
    stopApiRss();
    if (code !== 0) throw new Error(`sift batch exited ${code}:\n${stderrTail}`);
    const probe = JSON.parse(readFileSync(probeFile, 'utf8')) as CliProbeReport;
    timeline.add('cli', probe.exitAt, probe.cpuSeconds);
    const summary = JSON.parse(stdout) as BatchSummary;
    if (summary.status !== 'COMPLETED') throw new Error(`sift batch ended with batch ${summary.id} ${summary.status}`);
    const { batch } = await client.request(BatchDocument, { id: summary.id });
    if (!batch?.finishedAt || !batch.startedAt) throw new Error(`batch ${summary.id} has no startedAt or finishedAt`);
    assertAlive(children, 'during');
    const workerPeakRssMb = children.map((w) => memoryMb(w.child.pid!, 'VmHWM'));

    const [post] = requests(probe, 'POST', /^\/batches\?/, 'POST /batches', 'one');
    // One download that follows the batch; the CLI downloads again from the start when one breaks off or comes short.
    const downloads = requests(probe, 'GET', /^\/batches\/[^/]+\/results\./, 'results download', 'some');
    const results = downloads[0];
    const lastDownload = downloads[downloads.length - 1];
    const finishedAt = Date.parse(batch.finishedAt);
    const bounds: Record<SiftPhase, [number, number]> = {
      start: [spawnAt, post.createdAt],
      upload: [post.createdAt, post.headersAt],
      labelling: [post.headersAt, finishedAt],
      output: [finishedAt, probe.exitAt],
    };
    const cpuOf = (from: number, to: number) => Object.fromEntries(SIFT_PARTIES.map((party) => [party, timeline.used(party, from, to)])) as Record<SiftParty, number>;
    const phases = Object.fromEntries(Object.entries(bounds).map(([phase, [from, to]]) => [phase, { seconds: (to - from) / 1000, cpuSeconds: cpuOf(from, to) }])) as Record<SiftPhase, PhaseFigures>;
    const seconds = (probe.exitAt - spawnAt) / 1000;

    const labelledRows = await labelledRowsOf(output, 'id', 'label', 'error');
    if (labelledRows !== file.rows) throw new Error(`${output} holds ${labelledRows} labelled rows of ${file.rows}`);
    await deleteKeys(context.redisUrl, `${context.keyPrefix}batch:${summary.id}`);
    return {
      round,
      workers,
      rows: summary.total,
      seconds,
      rowsPerSecond: summary.total / seconds,
      phases,
      downloadAskedSeconds: (results.createdAt - post.headersAt) / 1000,
      downloadEndedSeconds: ((lastDownload.doneAt ?? NaN) - finishedAt) / 1000,
      downloads: downloads.length,
      labellingBeganSeconds: (Date.parse(batch.startedAt) - spawnAt) / 1000,
      cpuSeconds: cpuOf(spawnAt, probe.exitAt),
      cachedRows: summary.cached,
      failedRows: summary.failed,
      labelledRows,
      cliPeakRssMb: probe.peakRssMb,
      apiPeakRssMb: {
        run: Math.max(...apiRssSamples.map(([, mb]) => mb)),
        // The samples in the upload phase, and the one just after it (the phase may be shorter than a sampling step).
        upload: Math.max(...apiRssSamples.filter(([at], i) => at >= post.createdAt && (at <= post.headersAt || apiRssSamples[i - 1]?.[0] < post.headersAt)).map(([, mb]) => mb)),
      },
      workerPeakRssMb,
    };
  } finally {
    stopApiRss();
    await timeline.stop();
    redis.disconnect();
    await client.close();
    rmSync(output, { force: true });
  }
}
