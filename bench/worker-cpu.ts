/**
 * `node dist/bench/worker-cpu.js`: what one warm worker, the API, Redis and the command line
 * spend on the file bench's 200,000-row CSV: `sift batch IN OUT` against an API child with one
 * worker of its own, from a cold cache each run, as CPU seconds of each process over the run
 * (steadier than rows/s on a shared machine, and per process). With BENCH_OTHER_ROOT=<another checkout, built>, that
 * checkout's API, worker and command line run too, under a key prefix of their own, the two sides
 * alternating; BENCH_OTHER_ENV (NAME=value settings separated by spaces, e.g.
 * "SIFT_WORKER_CONCURRENCY=2 NODE_OPTIONS=--max-semi-space-size=32", with BENCH_OTHER_ROOT=.) is
 * set for that side's API and worker alone, to compare settings on one build; BENCH_OTHER_NODE_ARGS
 * (e.g. "--single-threaded-gc", which NODE_OPTIONS does not take) go to that side's API, workers
 * and command line. Each side's first
 * run warms it up and is not counted; BENCH_WORKER_CPU_RUNS (4) runs a side are. BENCH_WORKER_CPU_WORKERS (1)
 * workers a side; their CPU seconds are summed. Each run must label every row. Redis's figure is the whole server's (the one
 * at REDIS_URL, shared with whatever else uses it). BENCH_WORKER_CPU_OUTPUT (csv) is OUT's format.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { deleteKeys, startApiProcess, type ApiProcess } from './api-process';
import { writeBatchCsv, type BatchFile } from './batch-files';
import { batchContext, startWorker, type WorkerChild } from './batch-runs';
import { Cleanup } from './cleanup';
import type { CliProbeReport } from './cli-probe';
import { procSeconds, redisSeconds } from './cpu';
import { childNodeArgs } from './settings';
import { runBench } from './two-builds';

const ROOT = path.resolve(__dirname, '..', '..');
/** OUT's format (its name's extension): csv, jsonl or json. */
const OUTPUT_FORMAT = process.env.BENCH_WORKER_CPU_OUTPUT ?? 'csv';
if (!['csv', 'jsonl', 'json'].includes(OUTPUT_FORMAT)) throw new Error(`BENCH_WORKER_CPU_OUTPUT must be csv, jsonl or json, not ${JSON.stringify(OUTPUT_FORMAT)}`);
const ROUNDS = Number(process.env.BENCH_WORKER_CPU_RUNS ?? 4);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`BENCH_WORKER_CPU_RUNS must be a whole number of at least 1, not ${JSON.stringify(process.env.BENCH_WORKER_CPU_RUNS)}`);
const WORKERS = Number(process.env.BENCH_WORKER_CPU_WORKERS ?? 1);
if (!Number.isInteger(WORKERS) || WORKERS < 1 || WORKERS > 8) throw new Error(`BENCH_WORKER_CPU_WORKERS must be a whole number from 1 to 8, not ${JSON.stringify(process.env.BENCH_WORKER_CPU_WORKERS)}`);

/**
 * BENCH_OTHER_ENV's settings, NAME=value separated by spaces, for the other side's API and
 * worker alone; NODE_OPTIONS adds to the inherited one.
 */
function otherEnv(text: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const setting of text.trim().split(/\s+/).filter(Boolean)) {
    const at = setting.indexOf('=');
    if (at < 1) throw new Error(`BENCH_OTHER_ENV takes NAME=value settings separated by spaces, not ${JSON.stringify(setting)}`);
    const name = setting.slice(0, at);
    const value = setting.slice(at + 1);
    env[name] = name === 'NODE_OPTIONS' ? `${process.env.NODE_OPTIONS ?? ''} ${value}`.trim() : value;
  }
  return env;
}

const OTHER_ENV = otherEnv(process.env.BENCH_OTHER_ENV ?? '');

interface Side {
  name: string;
  root: string;
  api: ApiProcess;
  workers: WorkerChild[];
  runs: { worker: number; api: number; redis: number; cli: number; seconds: number }[];
  cliNodeArgs: string[];
}

/** Node options of one kind of process (api, worker, cli) on one side: BENCH_<KIND>_NODE_ARGS, then BENCH_OTHER_NODE_ARGS on the other side. */
function nodeArgsOf(kind: 'API' | 'WORKER' | 'CLI', other: boolean): string[] {
  const kinds = (process.env.BENCH_OTHER_NODE_KINDS ?? 'API,WORKER,CLI').toUpperCase().split(',');
  return [...childNodeArgs(`BENCH_${kind}_NODE_ARGS`), ...(other && kinds.includes(kind) ? childNodeArgs('BENCH_OTHER_NODE_ARGS') : [])];
}

async function startSide(name: string, root: string, cleanup: Cleanup, env: NodeJS.ProcessEnv = {}, other = false): Promise<Side> {
  const modelsDir = path.join(ROOT, 'models');
  const api = await startApiProcess(modelsDir, 'sentiment', root, env, undefined, nodeArgsOf('API', other));
  cleanup.add(() => api.stop());
  const workers: WorkerChild[] = [];
  for (let i = 0; i < WORKERS; i++) workers.push(await startWorker(batchContext(api, modelsDir, 'sentiment', root, env), cleanup, nodeArgsOf('WORKER', other)));
  return { name, root, api, workers, runs: [], cliNodeArgs: nodeArgsOf('CLI', other) };
}

/** One `sift batch` of `file` by this side, from a cold cache; each process's CPU seconds over it. */
async function run(side: Side, file: BatchFile, output: string, redis: Redis): Promise<Side['runs'][number]> {
  await deleteKeys(side.api.settings.redisUrl, `${side.api.keyPrefix}pred:`);
  const workersSeconds = () => side.workers.reduce((sum, worker) => sum + procSeconds(worker.child.pid!), 0);
  const before = { worker: workersSeconds(), api: procSeconds(side.api.pid), redis: await redisSeconds(redis), at: performance.now() };
  const probeFile = `${output}.probe.json`;
  // The CLI probe (this checkout's) writes the command line's own CPU seconds at its exit.
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...side.cliNodeArgs, '--require', path.join(ROOT, 'dist', 'bench', 'cli-probe.js'), path.join(side.root, 'dist', 'src', 'cli', 'sift.js'), 'batch', file.path, output, '--url', side.api.url, '--json'],
    { env: { ...process.env, BENCH_CLI_PROBE_FILE: probeFile } },
  );
  const cli = (JSON.parse(readFileSync(probeFile, 'utf8')) as CliProbeReport).cpuSeconds;
  const summary = JSON.parse(stdout) as { status: string; total: number; succeeded: number };
  // A build that fails rows would look cheaper: only a run that labelled every row counts.
  if (summary.status !== 'COMPLETED' || summary.total !== file.rows || summary.succeeded !== file.rows) throw new Error(`${side.name}: sift batch gave ${stdout.trim()}`);
  const after = { worker: workersSeconds(), api: procSeconds(side.api.pid), redis: await redisSeconds(redis), at: performance.now() };
  await deleteKeys(side.api.settings.redisUrl, `${side.api.keyPrefix}batch:`);
  return { worker: after.worker - before.worker, api: after.api - before.api, redis: after.redis - before.redis, cli, seconds: (after.at - before.at) / 1000 };
}

const figures = (values: number[]) => `${values.map((v) => v.toFixed(2)).join(', ')} (mean ${(values.reduce((a, b) => a + b, 0) / values.length).toFixed(2)})`;

const cleanup = new Cleanup();
// An interrupted run stops its children and deletes their keys before it goes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup.runAll().finally(() => process.exit(130)));

runBench(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sift-worker-cpu-'));
  let redis: Redis | undefined;
  try {
    const file = await writeBatchCsv(path.join(dir, 'file.csv'), 200_000, 0.3);
    const sides = [await startSide('this checkout', ROOT, cleanup)];
    if (process.env.BENCH_OTHER_ROOT) {
      const settings = [
        ...(Object.keys(OTHER_ENV).length > 0 ? [`API and worker with ${process.env.BENCH_OTHER_ENV!.trim()}`] : []),
        ...(childNodeArgs('BENCH_OTHER_NODE_ARGS').length > 0 ? [`node ${process.env.BENCH_OTHER_NODE_ARGS!.trim()}`] : []),
      ];
      const name = `${process.env.BENCH_OTHER_ROOT}${settings.length > 0 ? ` (${settings.join('; ')})` : ''}`;
      sides.push(await startSide(name, path.resolve(process.env.BENCH_OTHER_ROOT), cleanup, OTHER_ENV, true));
    }
    redis = new Redis(sides[0].api.settings.redisUrl);
    for (let round = 0; round <= ROUNDS; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        const figuresOfRun = await run(side, file, path.join(dir, `out.${OUTPUT_FORMAT}`), redis);
        if (round > 0) side.runs.push(figuresOfRun);
      }
    }
    console.log(`sift batch of a ${file.rows}-row CSV (${file.repeatedPct.toFixed(1)}% repeated texts) into ${OUTPUT_FORMAT.toUpperCase()}, ${WORKERS === 1 ? 'one warm worker' : `${WORKERS} warm workers (worker: their sum)`}, cold cache; CPU seconds a run (${ROUNDS} runs a side after one warm-up, alternating; redis: the whole server's)`);
    for (const side of sides) {
      console.log(`${side.name}`);
      for (const part of ['worker', 'api', 'redis', 'cli', 'seconds'] as const) console.log(`  ${part.padEnd(8)} ${figures(side.runs.map((r) => r[part]))}`);
    }
  } finally {
    redis?.disconnect();
    await cleanup.runAll();
    rmSync(dir, { recursive: true, force: true });
  }
});
