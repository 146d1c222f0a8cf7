import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { WORKER_NODE_OPTIONS } from '../src/supervision/worker-processes';
import { SiftClient } from '../src/client/sift-client';
import { BatchDocument } from '../src/client/generated/graphql';
import { Redis } from 'ioredis';
import { deleteKeys, type ApiProcess } from './api-process';
import { procSeconds, redisSeconds } from './cpu';
import { writeBatchCsv, type BatchFile } from './batch-files';
import type { Cleanup } from './cleanup';
import { childNodeArgs } from './settings';

/** One batch file submitted over HTTP and labelled by `workers` worker processes from a cold cache. */
export interface BatchRun {
  workers: number;
  rows: number;
  /** From the start of the upload until the batch is COMPLETED (every result downloadable). */
  seconds: number;
  rowsPerSecond: number;
  /** Until `POST /batches` answered 202 (the whole file read and queued). */
  uploadSeconds: number;
  cachedRows: number;
  failedRows: number;
  /** Each worker's peak RSS over its life (VmHWM), in MB. */
  workerPeakRssMb: number[];
  /** CPU used during the run, in % of one core: the API, all workers together, Redis. */
  cpu: { apiPct: number; workersPct: number; redisPct: number };
}

/** The API's memory while it ingests a large upload (no workers run, so only ingest is measured). */
export interface UploadRun {
  rows: number;
  bytes: number;
  seconds: number;
  rowsPerSecond: number;
  apiRssBeforeMb: number;
  /** Largest RSS sampled every 20 ms during the upload. */
  apiPeakRssMb: number;
}

/** Where the API runs and how its workers are started. */
export interface BatchBenchContext {
  url: string;
  apiPid: number;
  projectRoot: string;
  redisUrl: string;
  keyPrefix: string;
  /** Environment for worker processes (models, prefix, Redis). */
  workerEnv: NodeJS.ProcessEnv;
}

/**
 * The context of the batch sections for an API child: its URL, pid and key prefix, and the
 * environment its workers start with (from `projectRoot`'s build), `env` added.
 */
export function batchContext(started: ApiProcess, modelsDir: string, model: string, projectRoot: string, env: NodeJS.ProcessEnv = {}): BatchBenchContext {
  // No metrics port: the sections run two workers on this machine, which would fight over one.
  const workerEnv = { ...process.env, ...env, REDIS_URL: started.settings.redisUrl, SIFT_KEY_PREFIX: started.keyPrefix, SIFT_MODELS_DIR: modelsDir, SIFT_DEFAULT_MODEL: model, SIFT_METRICS_PORT: '0' };
  return { url: started.url, apiPid: started.pid, projectRoot, redisUrl: started.settings.redisUrl, keyPrefix: started.keyPrefix, workerEnv };
}

/** A memory figure of a process from /proc/<pid>/status (VmRSS now, VmHWM the peak), in MB. */
export function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  } catch {
    return NaN; // not Linux
  }
}

export interface WorkerChild {
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a worker process and resolves once it is ready. With `cleanup`, it is registered there
 * from its spawn until stopped, so an abort during its start-up stops it too.
 */
export async function startWorker(context: BatchBenchContext, cleanup?: Cleanup, nodeArgs = childNodeArgs('BENCH_WORKER_NODE_ARGS')): Promise<WorkerChild> {
  // Started as `sift up` starts its workers (WORKER_NODE_OPTIONS), BENCH_WORKER_NODE_ARGS added.
  const child = spawn(process.execPath, [...WORKER_NODE_OPTIONS, ...nodeArgs, path.join(context.projectRoot, 'dist', 'workers', 'worker.js')], {
    cwd: context.projectRoot,
    env: { ...context.workerEnv, SIFT_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (data: Buffer) => {
    const text = data.toString();
    // Warnings and errors belong in the bench's output; the rest is kept only to spot readiness.
    for (const line of text.split('\n')) if (/ (WARN|ERROR) /.test(line)) process.stderr.write(`worker ${child.pid}: ${line}\n`);
    output = (output + text).slice(-4096);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const forget = cleanup?.add(kill);
  const deadline = Date.now() + 60_000;
  while (!output.includes('worker ready')) {
    if (child.exitCode !== null) throw new Error(`a worker exited at start-up:\n${output}`);
    if (Date.now() > deadline) {
      await kill();
      throw new Error('a worker was not ready within 60 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    child,
    stop: async () => {
      await kill();
      forget?.();
    },
  };
}

/** POST /batches with the file streamed as the body (with `priority`, when given); resolves with the 202 answer. */
export async function upload(url: string, file: string, priority?: string): Promise<{ id: string; total: number }> {
  const body = Readable.toWeb(createReadStream(file, { highWaterMark: 1 << 16 })) as ReadableStream<Uint8Array>;
  const response = await fetch(`${url}/batches?idColumn=id${priority ? `&priority=${priority}` : ''}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body, duplex: 'half' } as RequestInit);
  const answer = (await response.json()) as { id: string; total: number; error?: { message: string } };
  if (response.status !== 202) throw new Error(`POST /batches answered ${response.status}: ${answer.error?.message}`);
  return answer;
}

/**
 * Labels `file` end to end with `workers` fresh worker processes: cold cache (the run's cached
 * predictions are deleted first), upload over HTTP, then poll until the batch completes.
 */
export async function runBatch(context: BatchBenchContext, file: BatchFile, workers: number): Promise<BatchRun> {
  await deleteKeys(context.redisUrl, `${context.keyPrefix}pred:`);
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker(context)));
  const client = new SiftClient(context.url);
  const redis = new Redis(context.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  const cpuNow = async () => ({
    api: procSeconds(context.apiPid),
    workers: children.reduce((sum, w) => sum + procSeconds(w.child.pid!), 0),
    redis: await redisSeconds(redis),
  });
  try {
    const cpuBefore = await cpuNow();
    const started = performance.now();
    const { id } = await upload(context.url, file.path);
    const uploadSeconds = (performance.now() - started) / 1000;
    for (;;) {
      const { batch } = await client.request(BatchDocument, { id });
      if (!batch) throw new Error(`batch ${id} disappeared`);
      if (batch.status === 'FAILED' || batch.status === 'CANCELLED') throw new Error(`batch ${id} ended ${batch.status}: ${batch.error}`);
      if (batch.status === 'COMPLETED') {
        const seconds = (performance.now() - started) / 1000;
        const cpuAfter = await cpuNow();
        const pct = (key: keyof typeof cpuAfter) => Math.round((1000 * (cpuAfter[key] - cpuBefore[key])) / seconds) / 10;
        const cpu = { apiPct: pct('api'), workersPct: pct('workers'), redisPct: pct('redis') };
        const workerPeakRssMb = children.map((w) => memoryMb(w.child.pid!, 'VmHWM'));
        await deleteKeys(context.redisUrl, `${context.keyPrefix}batch:${id}`);
        return { workers, rows: batch.total, seconds, rowsPerSecond: batch.total / seconds, uploadSeconds, cachedRows: batch.cached, failedRows: batch.failed, workerPeakRssMb, cpu };
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    redis.disconnect();
    await client.close();
    await Promise.all(children.map((w) => w.stop()));
  }
}

/** Uploads `file` with no worker running and samples the API's RSS while it ingests. */
export async function runUpload(context: BatchBenchContext, file: BatchFile): Promise<UploadRun> {
  const apiRssBeforeMb = memoryMb(context.apiPid, 'VmRSS');
  let apiPeakRssMb = apiRssBeforeMb;
  const sampler = setInterval(() => {
    apiPeakRssMb = Math.max(apiPeakRssMb, memoryMb(context.apiPid, 'VmRSS'));
  }, 20);
  const started = performance.now();
  try {
    const { id, total } = await upload(context.url, file.path);
    const seconds = (performance.now() - started) / 1000;
    apiPeakRssMb = Math.max(apiPeakRssMb, memoryMb(context.apiPid, 'VmRSS'));
    // Its chunks would wait in Redis for a worker: remove the batch and its queued jobs' rows.
    await deleteKeys(context.redisUrl, `${context.keyPrefix}batch:${id}`);
    await deleteKeys(context.redisUrl, `${context.keyPrefix}bq:`);
    return { rows: total, bytes: file.bytes, seconds, rowsPerSecond: total / seconds, apiRssBeforeMb, apiPeakRssMb };
  } finally {
    clearInterval(sampler);
  }
}

/** Everything the batch section measured. */
export interface BatchBenchResult {
  file: Omit<BatchFile, 'path'>;
  /** Per worker count, the run with the median rows/s. */
  runs: BatchRun[];
  /** Per worker count, how far the farthest round was from the median rows/s, in %. */
  spreadPct: Record<number, number>;
  /** Every round, in the order run. */
  rounds: BatchRun[];
  upload: UploadRun;
}

function median(runs: BatchRun[]): BatchRun {
  const sorted = [...runs].sort((a, b) => a.rowsPerSecond - b.rowsPerSecond);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * The batch section: a `rows`-row CSV (about 30% repeated texts) labelled end to end with 1 and
 * with 2 workers, each from a cold cache, alternating for `rounds` rounds (medians reported, as
 * this machine's speed drifts within a run); then the API's memory while it ingests an
 * `uploadRows`-row file. Files are written to `dir`.
 */
export async function runBatchSection(context: BatchBenchContext, rows: number, uploadRows: number, rounds: number, dir: string, log: (line: string) => void): Promise<BatchBenchResult> {
  log(`bench: writing a ${rows}-row and a ${uploadRows}-row CSV to ${dir}`);
  const file = await writeBatchCsv(path.join(dir, 'batch.csv'), rows, 0.3);
  const big = await writeBatchCsv(path.join(dir, 'upload.csv'), uploadRows, 0.3, 11);
  const all: BatchRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const workers of [1, 2]) {
      log(`bench: batch of ${rows} rows, ${workers} worker(s), round ${round} of ${rounds}`);
      all.push(await runBatch(context, file, workers));
    }
  }
  const runs: BatchRun[] = [];
  const spreadPct: Record<number, number> = {};
  for (const workers of [1, 2]) {
    const mine = all.filter((r) => r.workers === workers);
    const middle = median(mine);
    runs.push(middle);
    spreadPct[workers] = Math.max(...mine.map((r) => Math.abs(r.rowsPerSecond - middle.rowsPerSecond))) / middle.rowsPerSecond * 100;
  }
  log(`bench: upload of ${uploadRows} rows (${Math.round(big.bytes / 1e6)} MB), API memory sampled`);
  const upload = await runUpload(context, big);
  const { path: _path, ...described } = file;
  return { file: described, runs, spreadPct, rounds: all, upload };
}
