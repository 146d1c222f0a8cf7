import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { BatchDocument } from '../src/client/generated/graphql';
import { SiftClient, SiftRequestError } from '../src/client/sift-client';
import { deleteKeys } from './api-process';
import { writeBatchCsv, type BatchFile } from './batch-files';
import { memoryMb, startWorker, upload, type BatchBenchContext, type WorkerChild } from './batch-runs';
import type { Cleanup } from './cleanup';
import { procSeconds, redisSeconds } from './cpu';
import { percentile } from './median';
import type { FanoutClientsInput, FanoutClientsReady, FanoutClientsReport, SubscriberRecord } from './fanout-clients';

/** What subscribers select: the client's BatchProgressCounts document, or that plus `rows { index }`. */
export type FanoutKind = FanoutClientsInput['kind'];

/** One fan-out measurement: `subscribers` subscriptions of one kind on one API process during one batch. */
export interface FanoutPlan {
  kind: FanoutKind;
  subscribers: number;
}

/**
 * What every subscriber must receive to count as delivered, in words (printed with the table).
 * Subscribers subscribe before any worker runs, so the first snapshot is the batch at 0 rows.
 */
export const EXPECTED = {
  counts: 'the first snapshot (processed 0), then a final event with status COMPLETED and processed = total = the batch\'s rows, nothing after it, and the subscription completed by the server with no error',
  rows: 'all of the above, and every row index from 0 to rows - 1 exactly once, in input order',
} as const;

/** Percentiles of per-subscriber delays, in ms; Infinity where a subscriber never got its final event. */
export interface DelayPercentiles {
  p50: number;
  p99: number;
  max: number;
}

export interface FanoutRun extends FanoutPlan {
  rows: number;
  workers: number;
  /** From the batch's startedAt to its finishedAt (the record's times). */
  batchSeconds: number;
  /** From the first connection until every subscriber had its first event. */
  subscribeSeconds: number;
  /** Subscribers that received everything expected (EXPECTED[kind]). */
  delivered: number;
  deliveredPct: number;
  /** Why the others did not, by reason (the first expectation each one missed). */
  shortfalls: Record<string, number>;
  /** Per subscriber: the arrival of its final event minus the batch's finishedAt. */
  finalDelayMs: DelayPercentiles;
  /** Subscribers that never got an event with a final status. */
  missingFinal: number;
  /** Events per subscriber: fewest, median, most. */
  eventsPerSubscriber: { min: number; median: number; max: number };
  /** Rows received by all subscribers together. */
  rowsReceived: number;
  /** The clients process stopped waiting (BENCH_FANOUT_GRACE_SECONDS after the batch's end) before every subscription ended. */
  cutOff: boolean;
  /** The bench's own `batch` queries (every 100 ms) that failed and were tried again, by reason. */
  pollFailures: Record<string, number>;
  /** API RSS before the subscribers connected, once all were subscribed, and the peak (sampled every 20 ms) from then until the last one ended. */
  apiRssMb: { before: number; subscribed: number; peak: number };
  /** CPU in % of one core from the batch's start until the last subscription ended (`seconds`). */
  cpu: { seconds: number; apiPct: number; clientsPct: number; workersPct: number; redisPct: number };
}

export interface FanoutResult {
  file: Omit<BatchFile, 'path'>;
  graceSeconds: number;
  runs: FanoutRun[];
  /** Plans left out on purpose (with why), to print beside the table. */
  notRun: string[];
}

const WORKERS = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The first expectation a subscriber missed, or null when it received everything expected. */
function shortfall(record: SubscriberRecord, kind: FanoutKind, rows: number): string | null {
  if (record.events === 0) return record.error ? `no event (${codeOf(record.error)})` : 'no event';
  if (record.firstProcessed !== 0) return 'first snapshot not at 0 rows';
  if (record.error) return `ended with ${codeOf(record.error)}`;
  if (record.finalAt === null) return 'no final event';
  if (record.lastStatus !== 'COMPLETED' || record.lastProcessed !== rows || record.lastTotal !== rows) return 'final event not COMPLETED with every row';
  if (record.eventsAfterFinal > 0) return 'events after the final one';
  if (!record.completed) return 'not completed by the server';
  if (kind === 'rows' && !record.rowsInOrder) return 'rows out of order';
  if (kind === 'rows' && record.rows !== rows) return 'rows missing';
  return null;
}

/** A GraphQL error code (SUBSCRIBER_TOO_SLOW, ...) or the start of the message. */
function codeOf(error: string): string {
  const code = /^[A-Z][A-Z_]+\b/.exec(error)?.[0];
  return code ?? error.slice(0, 40);
}

interface ClientsProcess {
  child: ChildProcess;
  ready: Promise<FanoutClientsReady>;
  result: Promise<FanoutClientsReport>;
  stop(): Promise<void>;
}

function startClients(projectRoot: string, input: FanoutClientsInput): ClientsProcess {
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'bench', 'fanout-clients.js'), JSON.stringify(input)], {
    cwd: projectRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let onReady!: (value: FanoutClientsReady) => void;
  let onResult!: (value: FanoutClientsReport) => void;
  let onFail!: (error: Error) => void;
  const ready = new Promise<FanoutClientsReady>((resolve, reject) => {
    onReady = resolve;
    child.once('exit', (code) => reject(new Error(`the clients process exited (code ${code}) before its subscribers were ready`)));
  });
  const result = new Promise<FanoutClientsReport>((resolve, reject) => {
    onResult = resolve;
    onFail = reject;
  });
  ready.catch(() => undefined);
  result.catch(() => undefined);
  child.once('exit', (code) => onFail(new Error(`the clients process exited (code ${code}) without a result`)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const message = JSON.parse(line) as { type: string };
    if (message.type === 'ready') onReady(message as FanoutClientsReady);
    if (message.type === 'result') onResult(message as FanoutClientsReport);
  });
  return {
    child,
    ready,
    result,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin!.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/**
 * The batch record by the `batch` query. A request that fails on the network or with
 * REDIS_UNAVAILABLE is tried again until `deadline`, and counted in `failures`: an API busy with
 * many subscribers can leave its event loop busy for seconds, so a kept-alive connection closes
 * under the next request, or a Redis command times out on a reply not yet read.
 */
async function batchNow(client: SiftClient, id: string, deadline: number, failures: Record<string, number>) {
  for (;;) {
    try {
      return (await client.request(BatchDocument, { id })).batch;
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = error instanceof SiftRequestError ? error.code : error instanceof TypeError ? (cause?.code ?? cause?.message ?? error.message) : undefined;
      if (reason === undefined || (error instanceof SiftRequestError && reason !== 'REDIS_UNAVAILABLE') || Date.now() > deadline) throw error;
      failures[reason] = (failures[reason] ?? 0) + 1;
      await sleep(500);
    }
  }
}

/** Resolves with `promise`'s value, or with undefined after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, ms))));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One fan-out run: `file` uploaded with no worker running, `plan.subscribers` subscriptions from
 * one clients process, every one holding the batch's first snapshot before the two workers start
 * (from a cold cache); then the batch runs to its end while the API's RSS is sampled every 20 ms.
 * The bench waits for every subscription to end, at most `graceSeconds` after the batch's end.
 */
export async function runFanout(context: BatchBenchContext, cleanup: Cleanup, file: BatchFile, plan: FanoutPlan, graceSeconds: number): Promise<FanoutRun> {
  await deleteKeys(context.redisUrl, `${context.keyPrefix}pred:`);
  const client = new SiftClient(context.url);
  const redis = new Redis(context.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  const workers: WorkerChild[] = [];
  let clients: ClientsProcess | undefined;
  let sampler: NodeJS.Timeout | undefined;
  const forget: (() => void)[] = [];
  try {
    const rssBefore = memoryMb(context.apiPid, 'VmRSS');
    const { id, total } = await upload(context.url, file.path);
    const input: FanoutClientsInput = { url: context.url, batchId: id, subscribers: plan.subscribers, kind: plan.kind };
    clients = startClients(context.projectRoot, input);
    const started = clients;
    forget.push(cleanup.add(() => started.stop()));
    const ready = await within(clients.ready, 120_000);
    if (!ready) throw new Error(`${plan.subscribers} subscribers were not all subscribed within 120 s`);
    if (ready.withFirst < plan.subscribers) process.stderr.write(`bench: only ${ready.withFirst} of ${plan.subscribers} subscribers got a first event\n`);

    const rssSubscribed = memoryMb(context.apiPid, 'VmRSS');
    let rssPeak = rssSubscribed;
    sampler = setInterval(() => (rssPeak = Math.max(rssPeak, memoryMb(context.apiPid, 'VmRSS'))), 20);
    const apiCpu0 = procSeconds(context.apiPid);
    const redisCpu0 = await redisSeconds(redis);
    // In parallel, so the batch starts with both; their CPU counts from when each was ready.
    const starting = Array.from({ length: WORKERS }, () => startWorker(context).then((w) => (workers.push(w), { w, cpu: procSeconds(w.child.pid!) })));
    forget.push(cleanup.add(() => Promise.all(workers.map((w) => w.stop()))));
    // allSettled: a worker that starts after the other failed is still stopped below.
    const settled = await Promise.allSettled(starting);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const workersReady = settled.map((r) => (r as PromiseFulfilledResult<{ w: WorkerChild; cpu: number }>).value);

    // Wait for the batch's end, as the record says.
    const waitSeconds = 120 + total / 1000; // a generous 1,000 rows/s
    const deadline = Date.now() + waitSeconds * 1000;
    let finishedAt = NaN;
    let startedAt = NaN;
    const pollFailures: Record<string, number> = {};
    for (;;) {
      const batch = await batchNow(client, id, deadline, pollFailures);
      if (!batch) throw new Error(`batch ${id} disappeared`);
      if (batch.status === 'FAILED' || batch.status === 'CANCELLED') throw new Error(`batch ${id} ended ${batch.status}: ${batch.error}`);
      if (batch.status === 'COMPLETED') {
        finishedAt = new Date(batch.finishedAt as string).getTime();
        startedAt = new Date(batch.startedAt as string).getTime();
        break;
      }
      if (Date.now() > deadline) throw new Error(`batch ${id} did not complete within ${waitSeconds} s of its subscribers being ready`);
      await sleep(100);
    }

    // Then for every subscription to end, at most graceSeconds after the batch's end.
    let report = await within(clients.result, finishedAt + graceSeconds * 1000 - Date.now());
    const cutOff = report === undefined;
    const endedAt = Date.now();
    const apiCpu = procSeconds(context.apiPid) - apiCpu0;
    const redisCpu = (await redisSeconds(redis)) - redisCpu0;
    const workersCpu = workersReady.reduce((sum, { w, cpu }) => sum + procSeconds(w.child.pid!) - cpu, 0);
    clearInterval(sampler);
    if (cutOff) {
      clients.child.stdin!.write('stop\n');
      report = await within(clients.result, 30_000);
      if (!report) throw new Error('the clients process did not report within 30 s of being told to stop');
    }
    const records = report!.subscribers;
    // From the clients' own count: the process may be gone by now. They are idle from their ready
    // line until the workers start, so that is where their share of the window starts.
    const clientsCpu = report!.cpuSeconds - ready.cpuSeconds;

    const shortfalls: Record<string, number> = {};
    let delivered = 0;
    for (const record of records) {
      const reason = shortfall(record, plan.kind, total);
      if (reason === null) delivered++;
      else shortfalls[reason] = (shortfalls[reason] ?? 0) + 1;
    }
    const delays = records.map((r) => (r.finalAt === null ? Infinity : r.finalAt - finishedAt));
    const events = records.map((r) => r.events);
    const seconds = (endedAt - startedAt) / 1000;
    const pct = (cpuSeconds: number) => Math.round((1000 * cpuSeconds) / seconds) / 10;
    return {
      ...plan,
      rows: total,
      workers: WORKERS,
      batchSeconds: (finishedAt - startedAt) / 1000,
      subscribeSeconds: ready.subscribeMs / 1000,
      delivered,
      deliveredPct: (100 * delivered) / plan.subscribers,
      shortfalls,
      finalDelayMs: { p50: percentile(delays, 50), p99: percentile(delays, 99), max: Math.max(...delays) },
      missingFinal: records.filter((r) => r.finalAt === null).length,
      eventsPerSubscriber: { min: Math.min(...events), median: percentile(events, 50), max: Math.max(...events) },
      rowsReceived: records.reduce((sum, r) => sum + r.rows, 0),
      cutOff,
      pollFailures,
      apiRssMb: { before: rssBefore, subscribed: rssSubscribed, peak: rssPeak },
      cpu: { seconds, apiPct: pct(apiCpu), clientsPct: pct(clientsCpu), workersPct: pct(workersCpu), redisPct: pct(redisCpu) },
    };
  } finally {
    clearInterval(sampler);
    await clients?.stop();
    await Promise.all(workers.map((w) => w.stop()));
    for (const unregister of forget) unregister();
    redis.disconnect();
    await client.close();
    await deleteKeys(context.redisUrl, `${context.keyPrefix}batch:`);
    await deleteKeys(context.redisUrl, `${context.keyPrefix}bq:`);
  }
}

/** The plans of a run: counts subscribers for each of `subscribers`, then rows subscribers for each of `rowSubscribers`. */
export function fanoutPlans(subscribers: readonly number[], rowSubscribers: readonly number[]): FanoutPlan[] {
  return [...subscribers.map((n) => ({ kind: 'counts' as const, subscribers: n })), ...rowSubscribers.map((n) => ({ kind: 'rows' as const, subscribers: n }))];
}

/** How the section is run: sizes, where files go, and how to get a fresh API for each run. */
export interface FanoutSectionOptions {
  rows: number;
  plans: readonly FanoutPlan[];
  graceSeconds: number;
  /** Folder for the batch file. */
  dir: string;
  cleanup: Cleanup;
  /** Runs `run` against a fresh API child process (stopped and its keys deleted after). */
  withApi(run: (context: BatchBenchContext) => Promise<void>): Promise<void>;
  /** Plans left out on purpose, with why (printed beside the table). */
  notRun: string[];
  log(line: string): void;
}

/**
 * The fan-out section: one `rows`-row CSV (about 30% repeated texts), then each plan against an
 * API process of its own, so one run's heap does not count against the next one's RSS.
 */
export async function runFanoutSection(options: FanoutSectionOptions): Promise<FanoutResult> {
  const file = await writeBatchCsv(path.join(options.dir, 'fanout.csv'), options.rows, 0.3, 13);
  const runs: FanoutRun[] = [];
  for (const plan of options.plans) {
    options.log(`bench: fan-out, ${plan.subscribers} ${plan.kind} subscribers, a ${options.rows}-row batch, ${WORKERS} workers`);
    await options.withApi(async (context) => {
      const run = await runFanout(context, options.cleanup, file, plan, options.graceSeconds);
      options.log(`bench: ${run.delivered} of ${run.subscribers} delivered, final event p99 ${run.finalDelayMs.p99 === Infinity ? 'never' : `${Math.round(run.finalDelayMs.p99)} ms`} after the batch's end, API peak RSS ${Math.round(run.apiRssMb.peak)} MB`);
      runs.push(run);
    });
  }
  const { path: _path, ...described } = file;
  return { file: described, graceSeconds: options.graceSeconds, runs, notRun: options.notRun };
}
