/**
 * The faults section: what a fault costs, measured as time lost against a fault-free run of the
 * same batch in the same bench run, and whether any row was lost or counted twice. Everything runs
 * on a redis-server of the section's own with AOF on (fault-processes.ts), so it can be shut down
 * and started again, and the API is a `sift up` child on a fixed port, so it can be killed and
 * started again where its clients expect it.
 */
import path from 'node:path';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { jobsKey, waitingKey } from '../src/batches/chunk-queue';
import { BatchDocument, BatchProgressDocument, type BatchFieldsFragment } from '../src/client/generated/graphql';
import { redisKeys } from '../src/redis/keys';
import { deleteKeys, freePort } from './api-process';
import { writeBatchCsv, type BatchFile } from './batch-files';
import { startWorker, upload, type BatchBenchContext, type WorkerChild } from './batch-runs';
import type { Cleanup } from './cleanup';
import { startAofRedis, startSiftUp, type AofRedis, type SiftUpChild } from './fault-processes';
import { benchText } from './texts';

/** Where in a batch the faults strike: once this share of its rows is processed (and its upload answered). */
export const FAULT_AT = 0.3;

/** One line of the faults table, and what it was measured from. */
export interface FaultRow {
  fault: string;
  /** What it cost, in short: time lost against the fault-free run beside it, or how long until all was well. */
  cost: string;
  /** The rest of what was measured, in words. */
  details: string;
  /** Rows missing from the results at the end (null where no batch was labelled). */
  rowsLost: number | null;
  /** Rows counted or delivered more than once. */
  rowsDuplicated: number | null;
  /** What the operator had to do. */
  operator: string;
  /** The figures behind `cost`, for the JSON. */
  measured: Record<string, number | string | boolean | null>;
}

export interface FaultsResult {
  file: Omit<BatchFile, 'path'>;
  redis: { version: string; appendfsync: string };
  redisDownSeconds: number;
  stallIntervalMs: number;
  faultAt: number;
  rows: FaultRow[];
}

export interface FaultsOptions {
  rows: number;
  redisDownSeconds: number;
  modelsDir: string;
  model: string;
  projectRoot: string;
  /** Folder for the batch file. */
  dir: string;
  cleanup: Cleanup;
  log(line: string): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
const BATCH_QUERY = print(BatchDocument);
const PROGRESS_SUBSCRIPTION = print(BatchProgressDocument);
// Texts of the small uploads, apart from the batch files' (50,000,000 and up).
const SMALL_TEXTS = 70_000_000;

/** What the section holds while it runs: the Redis, the API on its fixed port, where workers find them. */
interface FaultContext {
  redis: AofRedis;
  prefix: string;
  port: number;
  url: string;
  api: SiftUpChild;
  /** The API's environment, to start it again as it was. */
  apiEnv: Record<string, string>;
  workers: BatchBenchContext;
  file: BatchFile;
  options: FaultsOptions;
}

/** The batch record by the client's own `batch` query; network errors and REDIS_UNAVAILABLE are tried again until `deadline`. */
async function batchNow(url: string, id: string, deadline: number): Promise<BatchFieldsFragment> {
  for (;;) {
    try {
      const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: BATCH_QUERY, variables: { id } }) });
      const answer = (await response.json()) as { data?: { batch: BatchFieldsFragment | null }; errors?: { message: string; extensions?: { code?: string } }[] };
      if (answer.errors?.length) {
        const code = answer.errors[0].extensions?.code;
        if (code !== 'REDIS_UNAVAILABLE') throw new Error(`the batch query answered ${code}: ${answer.errors[0].message}`);
        throw Object.assign(new Error('REDIS_UNAVAILABLE'), { retry: true });
      }
      if (!answer.data?.batch) throw new Error(`batch ${id} disappeared`);
      return answer.data.batch;
    } catch (error) {
      const retry = (error as { retry?: boolean }).retry === true || error instanceof TypeError; // TypeError: fetch failed (the API is away)
      if (!retry || Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** Every index of a batch's results download, counted: rows missing and rows there more than once. */
async function checkResults(url: string, id: string, total: number): Promise<{ rowsLost: number; rowsDuplicated: number }> {
  const response = await fetch(`${url}/batches/${id}/results.jsonl`);
  if (!response.ok) throw new Error(`the results of batch ${id} answered ${response.status}`);
  const seen = new Uint8Array(total);
  let duplicated = 0;
  let present = 0;
  for (const line of (await response.text()).split('\n')) {
    if (line === '') continue;
    const { index } = JSON.parse(line) as { index: number };
    if (seen[index]) duplicated++;
    else {
      seen[index] = 1;
      present++;
    }
  }
  return { rowsLost: total - present, rowsDuplicated: duplicated };
}

/** A small CSV upload; its answer's status, code and Retry-After. */
async function smallUpload(url: string, tag: number): Promise<{ status: number; code: string | null; retryAfter: string | null; id: string | null }> {
  const rows = Array.from({ length: 100 }, (_, i) => `s${i},"${benchText(SMALL_TEXTS + tag * 100 + i)}"`);
  const response = await fetch(`${url}/batches?idColumn=id`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: `id,text\n${rows.join('\n')}\n` });
  const answer = (await response.json().catch(() => ({}))) as { id?: string; error?: { code?: string } };
  return { status: response.status, code: answer.error?.code ?? null, retryAfter: response.headers.get('retry-after'), id: answer.id ?? null };
}

/** What one subscriber following a batch with `batchProgress` got, resuming with `fromRow` whenever its subscription broke. */
interface FollowResult {
  rows: number;
  rowsLost: number;
  rowsDuplicated: number;
  /** Subscriptions made: 1 when nothing broke. */
  subscriptions: number;
  /** `Date.now()` of every event. */
  eventTimes: number[];
  final: string | null;
}

/**
 * One subscriber as the web page and the CLI are: the client's BatchProgress document (every row
 * with its prediction), and when the subscription breaks (the socket closed, or the server ended
 * it without a final status), a new one after 0.5 s doubling to 5 s, `fromRow` the row after the
 * last one it holds.
 */
function followBatch(url: string, id: string, deadline: number): { done: Promise<FollowResult>; rows(): number; stop(): void } {
  const wsUrl = `${url.replace(/^http/, 'ws')}/graphql`;
  const result: FollowResult = { rows: 0, rowsLost: 0, rowsDuplicated: 0, subscriptions: 0, eventTimes: [], final: null };
  let next = 0;
  let stopped = false;
  let current: ReturnType<typeof createClient> | undefined;
  const done = (async () => {
    let backoff = 500;
    while (!stopped) {
      result.subscriptions++;
      const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
      current = client;
      await new Promise<void>((resolve) => {
        client.subscribe<{ batchProgress: { batch: { status: string }; rows: { index: number }[] } }>(
          { query: PROGRESS_SUBSCRIPTION, variables: { id, fromRow: next } },
          {
            next: (answer) => {
              const progress = answer.data?.batchProgress;
              if (!progress) return;
              result.eventTimes.push(Date.now());
              backoff = 500;
              for (const row of progress.rows) {
                if (row.index < next) result.rowsDuplicated++;
                else {
                  result.rowsLost += row.index - next;
                  result.rows++;
                  next = row.index + 1;
                }
              }
              if (FINAL.has(progress.batch.status)) result.final = progress.batch.status;
            },
            error: () => resolve(),
            complete: () => resolve(),
          },
        );
      });
      await client.dispose();
      if (result.final !== null || stopped) break;
      if (Date.now() > deadline) throw new Error(`the subscriber to batch ${id} got no final event in time`);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 5000);
    }
    return result;
  })();
  return {
    done,
    rows: () => result.rows,
    stop: () => {
      stopped = true;
      void current?.dispose();
    },
  };
}

/** One batch labelled end to end, and what a fault did to it. */
interface LabelRun {
  id: string;
  total: number;
  /** The record's createdAt (the upload began) to its finishedAt. */
  seconds: number;
  status: string;
  processed: number;
  rowsLost: number;
  rowsDuplicated: number;
  /** Share of the rows processed when the fault struck. */
  faultAt: number | null;
  follow: FollowResult | null;
}

/**
 * Uploads the section's file (the worker(s) already running, cold cache) and polls the record
 * every 50 ms until the batch completes; `fault` runs once, when FAULT_AT of the rows are
 * processed; `follow` adds a subscriber from row 0 as soon as the upload is answered, and then the
 * fault waits until that subscriber holds some rows too (so it has something to resume from).
 */
async function label(ctx: FaultContext, fault?: (id: string) => Promise<void>, follow = false): Promise<LabelRun> {
  await deleteKeys(ctx.redis.url, `${ctx.prefix}pred:`);
  const { id, total } = await upload(ctx.url, ctx.file.path);
  const deadline = Date.now() + (120 + total / 1000) * 1000;
  const follower = follow ? followBatch(ctx.url, id, deadline) : undefined;
  let faultAt: number | null = null;
  try {
    let batch: BatchFieldsFragment;
    for (;;) {
      batch = await batchNow(ctx.url, id, deadline);
      if (FINAL.has(batch.status)) break;
      const following = !follower || follower.rows() > 0;
      if (fault && faultAt === null && batch.processed >= FAULT_AT * total && following) {
        faultAt = batch.processed / total;
        await fault(id);
        continue;
      }
      if (Date.now() > deadline) throw new Error(`batch ${id} did not end in time`);
      await sleep(50);
    }
    if (batch.status !== 'COMPLETED') throw new Error(`batch ${id} ended ${batch.status}: ${batch.error}`);
    if (fault && faultAt === null) throw new Error(`batch ${id} completed before the fault could strike`);
    const { rowsLost, rowsDuplicated } = await checkResults(ctx.url, id, total);
    const seconds = (Date.parse(batch.finishedAt!) - Date.parse(batch.createdAt)) / 1000;
    const followed = follower ? await Promise.race([follower.done, sleep(60_000).then(() => null)]) : null;
    if (follower && !followed) throw new Error(`the subscriber to batch ${id} did not end within 60 s of the batch`);
    return { id, total, seconds, status: batch.status, processed: batch.processed, rowsLost, rowsDuplicated, faultAt, follow: followed };
  } finally {
    follower?.stop();
  }
}

/** Starts a worker process into `running` (which withWorkers stops, also on an abort). */
async function worker(ctx: FaultContext, running: WorkerChild[]): Promise<WorkerChild> {
  const started = await startWorker(ctx.workers);
  running.push(started);
  return started;
}

async function withWorkers<T>(ctx: FaultContext, use: (running: WorkerChild[]) => Promise<T>): Promise<T> {
  const running: WorkerChild[] = [];
  const forget = ctx.options.cleanup.add(() => Promise.all(running.map((w) => w.stop())));
  try {
    return await use(running);
  } finally {
    await Promise.all(running.map((w) => w.stop()));
    forget();
  }
}

/** A fault-free run with one worker: the baseline the next fault is set against. */
async function baseline(ctx: FaultContext, follow = false): Promise<LabelRun> {
  return withWorkers(ctx, async (running) => {
    await worker(ctx, running);
    return label(ctx, undefined, follow);
  });
}

/** "4.1 s", or "40 ms" below a second. */
const s = (seconds: number) => (Math.abs(seconds) < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(1)} s`);
const pct = (share: number | null) => (share === null ? '-' : `${Math.round(share * 100)}%`);
/** Rows missing from the download, or from the final count. */
const lost = (run: LabelRun) => Math.max(run.rowsLost, run.total - run.processed);
/** Time lost against the fault-free run: "+6.1 s (10.2 s vs 4.1 s, x2.49)". */
const versus = (run: LabelRun, base: LabelRun) => `${run.seconds >= base.seconds ? '+' : '-'}${s(Math.abs(run.seconds - base.seconds))} (${s(run.seconds)} vs ${s(base.seconds)}, x${(run.seconds / base.seconds).toFixed(2)})`;

/** A worker SIGKILLed at FAULT_AT, a new one started at once. */
async function workerKilled(ctx: FaultContext, base: LabelRun): Promise<FaultRow> {
  let newWorkerReadyS = NaN;
  const run = await withWorkers(ctx, async (running) => {
    const first = await worker(ctx, running);
    return label(ctx, async () => {
      const killedAt = Date.now();
      first.child.kill('SIGKILL');
      await worker(ctx, running);
      newWorkerReadyS = (Date.now() - killedAt) / 1000;
    });
  });
  return {
    fault: `worker SIGKILLed at ${pct(run.faultAt)}, a new one started at once`,
    cost: versus(run, base),
    details: `the new worker was ready ${s(newWorkerReadyS)} after the kill; the dead one's chunks ran again once stall detection gave them back`,
    rowsLost: lost(run),
    rowsDuplicated: run.rowsDuplicated,
    operator: 'nothing (start a worker, or let sift up / compose do it)',
    measured: { seconds: run.seconds, baselineSeconds: base.seconds, extraSeconds: run.seconds - base.seconds, newWorkerReadySeconds: newWorkerReadyS, faultAt: run.faultAt },
  };
}

/** Redis shut down (SHUTDOWN, AOF) at FAULT_AT for `redisDownSeconds`, then started again; an upload tried while it is down and right after. */
async function redisRestarted(ctx: FaultContext, base: LabelRun): Promise<FaultRow> {
  const down = ctx.options.redisDownSeconds;
  let during = { status: 0, code: null as string | null, retryAfter: null as string | null };
  let acceptedAfterS = NaN;
  let attempts = 0;
  let restarted = 0;
  let shutdownS = NaN;
  const run = await withWorkers(ctx, async (running) => {
    const only = await worker(ctx, running);
    const labelled = await label(ctx, async () => {
      const asked = Date.now();
      await ctx.redis.shutdown();
      const downAt = Date.now();
      shutdownS = (downAt - asked) / 1000;
      during = await smallUpload(ctx.url, 1);
      await sleep(Math.max(0, down * 1000 - (Date.now() - downAt)));
      await ctx.redis.start();
      const backAt = Date.now();
      // Right after: how soon intake takes an upload again (its 100 rows are labelled after the batch).
      for (;;) {
        attempts++;
        if ((await smallUpload(ctx.url, 2 + attempts)).status === 202) break;
        if (Date.now() - backAt > 60_000) throw new Error('no upload was accepted within 60 s of Redis coming back');
        await sleep(100);
      }
      acceptedAfterS = (Date.now() - backAt) / 1000;
    });
    restarted = (ctx.api.alive() ? 0 : 1) + (only.child.exitCode === null && only.child.signalCode === null ? 0 : 1);
    return labelled;
  });
  const refused = `${during.status} ${during.code ?? ''}${during.retryAfter ? `, Retry-After ${during.retryAfter}` : ''}`.trim();
  return {
    fault: `Redis SHUTDOWN (AOF) for ${down} s at ${pct(run.faultAt)}`,
    cost: `${versus(run, base)}; ${restarted} processes restarted`,
    details: `an upload while Redis was down answered ${refused}; one right after Redis was back (PING answered) was accepted after ${s(acceptedAfterS)} (${attempts} tries, 100 ms apart); SHUTDOWN took ${s(shutdownS)}`,
    rowsLost: lost(run),
    rowsDuplicated: run.rowsDuplicated,
    operator: 'nothing',
    measured: {
      seconds: run.seconds, baselineSeconds: base.seconds, extraSeconds: run.seconds - base.seconds, faultAt: run.faultAt, redisDownSeconds: down, shutdownSeconds: shutdownS,
      processesRestarted: restarted, uploadWhileDownStatus: during.status, uploadWhileDownCode: during.code, uploadWhileDownRetryAfter: during.retryAfter,
      uploadAcceptedAfterSeconds: acceptedAfterS, uploadTries: attempts,
    },
  };
}

/** The longest time between two events of a subscriber, and the gap that spans `at` (the kill). */
function gaps(times: readonly number[], at?: number): { longest: number; around: number } {
  let longest = 0;
  let around = NaN;
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] - times[i - 1]) / 1000;
    longest = Math.max(longest, gap);
    if (at !== undefined && times[i - 1] <= at && times[i] > at) around = gap;
  }
  return { longest, around };
}

/** The API SIGKILLed at FAULT_AT and started again at once on its port; one subscriber resumes with fromRow. */
async function apiKilled(ctx: FaultContext, base: LabelRun): Promise<FaultRow> {
  let killedAt = NaN;
  let apiReadyS = NaN;
  const run = await withWorkers(ctx, async (running) => {
    await worker(ctx, running);
    return label(
      ctx,
      async () => {
        killedAt = Date.now();
        await ctx.api.kill();
        ctx.api = await startSiftUp(ctx.options.projectRoot, ctx.port, ctx.apiEnv);
        apiReadyS = (Date.now() - killedAt) / 1000;
      },
      true,
    );
  });
  const follow = run.follow!;
  const { around } = gaps(follow.eventTimes, killedAt);
  const baseGap = gaps(base.follow!.eventTimes).longest;
  const subscriberLost = follow.rowsLost + (run.total - follow.rows - follow.rowsLost);
  return {
    fault: `API SIGKILLed at ${pct(run.faultAt)} and started again at once; one subscriber resuming with fromRow`,
    cost: `${s(around)} without events (longest gap fault-free ${s(baseGap)})`,
    details: `the API answered /readyz ${s(apiReadyS)} after the kill; the subscriber (the client's BatchProgress document, every row with its prediction; subscribing again after 0.5 s doubling to 5 s, as the CLI does) made ${follow.subscriptions} subscriptions and ended with ${follow.rows.toLocaleString('en-US')} rows of ${run.total.toLocaleString('en-US')}, ${subscriberLost} missing, ${follow.rowsDuplicated} twice; the batch took ${s(run.seconds)} (${s(base.seconds)} fault-free with the same subscriber: workers do not need the API)`,
    rowsLost: Math.max(lost(run), subscriberLost),
    rowsDuplicated: run.rowsDuplicated + follow.rowsDuplicated,
    operator: 'nothing (the API restarted, as a supervisor does; clients resume by themselves)',
    measured: {
      seconds: run.seconds, baselineSeconds: base.seconds, extraSeconds: run.seconds - base.seconds, faultAt: run.faultAt, apiReadySeconds: apiReadyS,
      secondsWithoutEvents: around, longestGapFaultFreeSeconds: baseGap, subscriptions: follow.subscriptions, subscriberRows: follow.rows,
      subscriberRowsLost: subscriberLost, subscriberRowsDuplicated: follow.rowsDuplicated, resultsRowsLost: lost(run), resultsRowsDuplicated: run.rowsDuplicated,
    },
  };
}

/**
 * What a prefix holds of batches and queued work, on a connection of its own (so the figure does
 * not wait on a long-lived client's reconnect after a Redis restart); rejects while Redis is away.
 */
async function leftovers(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const keys = redisKeys(prefix);
    let found = 0;
    let cursor = '0';
    do {
      const [next, page] = await redis.scan(cursor, 'MATCH', `${prefix}batch:*`, 'COUNT', 1000);
      found += page.length;
      cursor = next;
    } while (cursor !== '0');
    // The chunk schedule's entries and rings (its turn counter and last-served marks hold no work).
    do {
      const [next, page] = await redis.scan(cursor, 'MATCH', `${keys.schedulePrefix()}*`, 'COUNT', 1000);
      found += page.filter((key) => key !== `${keys.schedulePrefix()}turns` && !key.endsWith(':served')).length;
      cursor = next;
    } while (cursor !== '0');
    return found + (await redis.hlen(jobsKey(keys))) + (await redis.llen(waitingKey(keys))) + (await redis.zcard(keys.activeBatches()));
  } finally {
    redis.disconnect();
  }
}

/**
 * An upload of `rows` rows sent in pieces of 500 (20 ms apart, so it lasts seconds), with no worker
 * running; Redis is shut down once 20 of its chunks are queued, and started again after
 * `redisDownSeconds`. Measured: when the upload was answered, and how long after Redis was back
 * nothing of it was left (the API takes its work back in the background).
 */
async function uploadLosesRedis(ctx: FaultContext): Promise<FaultRow> {
  // Nothing else in the way: earlier batches' keys and the queue go first (the API is idle, no worker runs).
  await deleteKeys(ctx.redis.url, `${ctx.prefix}batch`);
  await deleteKeys(ctx.redis.url, `${ctx.prefix}bq:`);
  const own = new Redis(ctx.redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 50 });
  own.on('error', () => undefined);
  const keys = redisKeys(ctx.prefix);
  if (own.status !== 'ready') await new Promise((resolve) => own.once('ready', resolve));
  let sent = 0;
  let stop = false;
  const rows = 200_000;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === 0) controller.enqueue(Buffer.from('id,text\n'));
      else await sleep(20);
      if (stop || sent >= rows) return controller.close();
      const piece = Array.from({ length: 500 }, (_, i) => `u${sent + i},"${benchText(SMALL_TEXTS + 1_000_000 + sent + i)}"`).join('\n');
      sent += 500;
      controller.enqueue(Buffer.from(`${piece}\n`));
    },
  });
  try {
    const answer = fetch(`${ctx.url}/batches?idColumn=id`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body, duplex: 'half' } as RequestInit).then(
      async (response) => ({ status: response.status, code: ((await response.json().catch(() => ({}))) as { error?: { code?: string } }).error?.code ?? null, at: Date.now() }),
      (error: Error) => ({ status: 0, code: error.message, at: Date.now() }),
    );
    // 20 chunks stored (the queue holds a few of them, the schedule the rest), as the batch record
    // counts them; the upload's batch is the only one not ended.
    const deadline = Date.now() + 30_000;
    const storedChunks = async () => {
      const [id] = await own.zrange(keys.activeBatches(), 0, 0);
      return id === undefined ? 0 : Number((await own.hget(keys.batch(id), 'queuedChunks')) ?? 0);
    };
    while ((await storedChunks().catch(() => 0)) < 20) {
      if (Date.now() > deadline) throw new Error('the slow upload stored no 20 chunks within 30 s');
      await sleep(20);
    }
    const queuedRows = sent;
    await ctx.redis.shutdown();
    const downAt = Date.now();
    const answered = await Promise.race([answer, sleep(30_000).then(() => null)]);
    stop = true;
    if (!answered) throw new Error('the upload was not answered within 30 s of Redis going down');
    await sleep(Math.max(0, ctx.options.redisDownSeconds * 1000 - (Date.now() - downAt)));
    await ctx.redis.start();
    const backAt = Date.now();
    let left = -1;
    let firstLeft = NaN;
    while (left !== 0) {
      left = await leftovers(ctx.redis.url, ctx.prefix).catch(() => -1);
      if (Number.isNaN(firstLeft) && left >= 0) firstLeft = left;
      if (left === 0) break;
      if (Date.now() - backAt > 60_000) throw new Error(`60 s after Redis came back, ${left} keys and jobs of the failed upload were still there`);
      await sleep(100);
    }
    const cleanS = (Date.now() - backAt) / 1000;
    return {
      fault: `upload loses Redis half way (${ctx.options.redisDownSeconds} s down)`,
      cost: `nothing left ${s(cleanS)} after Redis was back`,
      details: `the upload was answered ${answered.status} ${answered.code ?? ''} ${s((answered.at - downAt) / 1000)} after Redis went down (about ${queuedRows.toLocaleString('en-US')} rows sent, no worker running); when Redis was back, ${firstLeft} batch keys and queued jobs of it were there, and none ${s(cleanS)} later`,
      rowsLost: null,
      rowsDuplicated: null,
      operator: 'nothing (the client uploads again)',
      measured: { uploadStatus: answered.status, uploadCode: answered.code, answeredAfterDownSeconds: (answered.at - downAt) / 1000, rowsSentBeforeDown: queuedRows, cleanAfterBackSeconds: cleanS, leftoversWhenBack: firstLeft },
    };
  } finally {
    stop = true;
    own.disconnect();
  }
}

/** `sift up` with one worker; the worker SIGKILLed; seconds until the new one is ready. */
async function supervisedWorkerKilled(ctx: FaultContext): Promise<FaultRow> {
  const port = await freePort();
  const up = await startSiftUp(ctx.options.projectRoot, port, { ...ctx.apiEnv, SIFT_WORKERS: '1', SIFT_LOG_LEVEL: 'info' });
  const forget = ctx.options.cleanup.add(() => up.stop());
  try {
    const started = await up.waitFor(/started 1 worker process\(es\) \(pid (\d+)\)/, 60_000);
    const ready = await up.waitFor(/worker ready/, 60_000, started.index);
    const startS = (ready.line.at - started.line.at) / 1000;
    const pid = Number(started.match[1]);
    const from = up.lines().length;
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const exited = await up.waitFor(new RegExp(`worker 1 \\(pid ${pid}\\) exited unexpectedly .*restarting it in (\\d+(?:\\.\\d+)? (?:ms|s|min \\d+ s))`), 30_000, from);
    const restarted = await up.waitFor(/worker 1 restarted \(pid (\d+)\)/, 60_000, exited.index);
    const readyAgain = await up.waitFor(/worker ready/, 60_000, restarted.index);
    const readyS = (readyAgain.line.at - killedAt) / 1000;
    const restartS = (restarted.line.at - killedAt) / 1000;
    // The new worker takes work: a small batch on this sift up completes.
    const small = await smallUpload(up.url, 900);
    if (small.status !== 202) throw new Error(`an upload to sift up answered ${small.status} ${small.code}`);
    const deadline = Date.now() + 30_000;
    while ((await batchNow(up.url, small.id!, deadline)).status !== 'COMPLETED') {
      if (Date.now() > deadline) throw new Error('the new worker did not complete a 100-row batch within 30 s');
      await sleep(50);
    }
    return {
      fault: 'sift up: its worker SIGKILLed',
      cost: `new worker ready ${s(readyS)} after the kill`,
      details: `restarted ${s(restartS)} after the kill (the log: "restarting it in ${exited.match[1]}"), ready ${s(readyS - restartS)} later (its first start took ${s(startS)}); a 100-row batch then completed`,
      rowsLost: null,
      rowsDuplicated: null,
      operator: 'nothing',
      measured: { readyAfterKillSeconds: readyS, restartedAfterSeconds: restartS, restartDelaySaid: exited.match[1], workerStartSeconds: startS, extraSeconds: readyS - startS },
    };
  } finally {
    await up.stop();
    forget();
  }
}

/**
 * The section: a private AOF Redis, an API (`sift up`, no workers) on a fixed port, one
 * `rows`-row file (about 30% repeated texts). Each batch fault is run right after a fault-free
 * run of the same file with one worker, so the pair sees the same machine.
 */
export async function runFaults(options: FaultsOptions): Promise<FaultsResult> {
  const file = await writeBatchCsv(path.join(options.dir, 'faults.csv'), options.rows, 0.3, 19);
  options.log(`bench: faults, on a private redis-server with AOF on, a ${options.rows}-row batch and 1 worker`);
  const redis = await startAofRedis();
  const forgetRedis = options.cleanup.add(() => redis.stop());
  const prefix = `sift-bench:${Math.random().toString(16).slice(2, 14)}:`;
  const port = await freePort();
  const apiEnv: Record<string, string> = {
    REDIS_URL: redis.url,
    SIFT_KEY_PREFIX: prefix,
    SIFT_MODELS_DIR: options.modelsDir,
    SIFT_DEFAULT_MODEL: options.model,
    SIFT_WORKERS: '0',
    SIFT_LOG_LEVEL: 'warn',
    SIFT_RATE_REQUESTS_PER_SECOND: '100000000',
    SIFT_RATE_TEXTS_PER_SECOND: '100000000',
    SIFT_RATE_BATCHES_PER_MINUTE: '100000000',
    SIFT_RATE_BATCH_ROWS_PER_MINUTE: '100000000000',
  };
  const ctx: FaultContext = {
    redis,
    prefix,
    port,
    url: `http://127.0.0.1:${port}`,
    api: undefined as unknown as SiftUpChild,
    apiEnv,
    workers: {
      url: `http://127.0.0.1:${port}`,
      apiPid: 0,
      projectRoot: options.projectRoot,
      redisUrl: redis.url,
      keyPrefix: prefix,
      workerEnv: { ...process.env, REDIS_URL: redis.url, SIFT_KEY_PREFIX: prefix, SIFT_MODELS_DIR: options.modelsDir, SIFT_DEFAULT_MODEL: options.model },
    },
    file,
    options,
  };
  const forgetApi = options.cleanup.add(() => ctx.api?.stop() ?? Promise.resolve());
  try {
    ctx.api = await startSiftUp(options.projectRoot, port, apiEnv);
    const rows: FaultRow[] = [];
    const step = async (what: string, run: () => Promise<FaultRow>) => {
      options.log(`bench: faults: ${what}`);
      const row = await run();
      options.log(`bench: faults: ${row.fault}: ${row.cost}`);
      rows.push(row);
    };
    await step('a worker killed (after a fault-free run)', async () => workerKilled(ctx, await baseline(ctx)));
    await step('Redis shut down and started again (after a fault-free run)', async () => redisRestarted(ctx, await baseline(ctx)));
    await step('the API killed and started again (after a fault-free run with a subscriber)', async () => apiKilled(ctx, await baseline(ctx, true)));
    await step('an upload that loses Redis', () => uploadLosesRedis(ctx));
    await step('a worker killed under sift up', () => supervisedWorkerKilled(ctx));
    const { path: _path, ...described } = file;
    return { file: described, redis: { version: redis.version, appendfsync: 'everysec' }, redisDownSeconds: options.redisDownSeconds, stallIntervalMs: Number(process.env.SIFT_STALL_INTERVAL_MS ?? 5000), faultAt: FAULT_AT, rows };
  } finally {
    await ctx.api?.stop();
    forgetApi();
    await redis.stop();
    forgetRedis();
  }
}
