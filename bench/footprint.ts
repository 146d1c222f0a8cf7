import { spawn } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { BatchDocument } from '../src/client/generated/graphql';
import { SiftClient } from '../src/client/sift-client';
import { freePort, startApiProcess, type ApiProcess } from './api-process';
import { writeBatchCsv, type BatchFile } from './batch-files';
import { startWorker, upload, type WorkerChild } from './batch-runs';
import type { Cleanup } from './cleanup';
import { redisSeconds } from './cpu';

/** Bytes a set of keys holds: the `used_memory` delta, and the keys' `MEMORY USAGE` by group. */
export interface MemoryFigure {
  /** `used_memory` difference from the baseline (after the API started, before the upload), in bytes. */
  usedMemoryDelta: number;
  bytesPerRow: number;
  /** `MEMORY USAGE key SAMPLES 0` summed per group of keys, in bytes (what the keys hold, without Redis's own tables). */
  byGroup: Record<string, { keys: number; bytes: number }>;
}

/** What one row of a batch costs in Redis, measured on a private redis-server with nothing else in it. */
export interface FootprintResult {
  file: Omit<BatchFile, 'path'>;
  /** Mean UTF-8 bytes of a row's text, and of a whole CSV line. */
  textBytesPerRow: number;
  csvBytesPerRow: number;
  redis: { version: string; allocator: string };
  /** After the upload, no worker running: input chunks, bee-queue jobs, the record. */
  queued: MemoryFigure;
  /** After one worker completed the batch and stopped, the prediction cache's keys deleted: results and the record. */
  after: MemoryFigure;
  /** The prediction cache's keys the batch left (one per distinct text), and what deleting them freed. */
  /** The prediction cache: its entries (fields of its windows' hashes), the hashes holding them, and the memory deleting them freed. */
  cache: { entries: number; hashes: number; usedMemoryDelta: number; bytesPerEntry: number; hashNameBytes: number };
  /**
   * Redis CPU (INFO cpu, user + sys) per row: while the API ingests the upload, and while one
   * worker labels it (cold cache); `ceilingRowsPerSecond` = 1 s over both together, the rows/s at
   * which this Redis's one command thread would be busy all the time.
   */
  redisCpu: { ingestUsPerRow: number; labelUsPerRow: number; ceilingRowsPerSecond: number; labelSeconds: number; workerRowsPerSecond: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A redis-server of the bench's own on a free loopback port: memory only, nothing else uses it. */
async function startPrivateRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failed = new Promise<never>((_, reject) => child.once('error', (error) => reject(new Error(`could not start redis-server (is it on the PATH?): ${error.message}`))));
  failed.catch(() => undefined);
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let attempt = 0; ; attempt++) {
    const answered = await Promise.race([probe.connect().then(() => probe.ping()).then(() => true, () => false), failed]);
    if (answered) break;
    if (attempt >= 50 || child.exitCode !== null) {
      await stop();
      throw new Error(`the bench's redis-server on port ${port} did not answer within 5 s`);
    }
    probe.disconnect();
    await sleep(100);
  }
  probe.disconnect();
  return { url, stop };
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN);
}

/** Which part of a batch's footprint a key is (its name without the prefix). */
function groupOf(name: string): string {
  if (name.startsWith('pred:')) return 'prediction cache';
  if (/^batch:[^:]+:chunk:\d+$/.test(name)) return 'input chunks';
  // A recorded chunk's input is kept for downloads that echo it: part of the results.
  if (/^batch:[^:]+:results$/.test(name) || /^batch:[^:]+:recorded:\d+$/.test(name)) return 'results';
  if (name.startsWith('bq:')) return 'bee-queue';
  if (/^batch:[^:]+$/.test(name) || name.startsWith('batches') || name.startsWith('idem:')) return 'record and indexes';
  return 'other';
}

/** Every key under `prefix` with its MEMORY USAGE (SAMPLES 0: every element counted), summed by group. */
async function keysByGroup(redis: Redis, prefix: string): Promise<Record<string, { keys: number; bytes: number }>> {
  const groups: Record<string, { keys: number; bytes: number }> = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 2000);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    const answers = (await pipeline.exec()) ?? [];
    keys.forEach((key, i) => {
      const group = (groups[groupOf(key.slice(prefix.length))] ??= { keys: 0, bytes: 0 });
      group.keys++;
      group.bytes += Number(answers[i]?.[1] ?? 0);
    });
  } while (cursor !== '0');
  return groups;
}

/** Deletes the keys under `prefix` with DEL (freed at once, unlike UNLINK), returning how many. */
async function deleteNow(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

export interface FootprintOptions {
  rows: number;
  modelsDir: string;
  model: string;
  projectRoot: string;
  /** Folder for the batch file. */
  dir: string;
  cleanup: Cleanup;
  log(line: string): void;
}

/**
 * The Redis footprint section: a private redis-server (so nothing else moves `used_memory`), an
 * API child process on it, a `rows`-row upload of the bench's texts with no worker running
 * (queued), then one worker labels it from a cold cache (after). Memory is `INFO memory`
 * used_memory against the baseline taken once the API was up; the cache's share is what deleting
 * its keys frees.
 */
export async function runFootprint(options: FootprintOptions): Promise<FootprintResult> {
  const file = await writeBatchCsv(path.join(options.dir, 'footprint.csv'), options.rows, 0.3, 17);
  options.log(`bench: Redis footprint of a ${options.rows}-row upload, on a private redis-server`);
  const privateRedis = await startPrivateRedis();
  const forgetRedis = options.cleanup.add(() => privateRedis.stop());
  let api: ApiProcess | undefined;
  let worker: WorkerChild | undefined;
  let forgetApi: (() => void) | undefined;
  const redis = new Redis(privateRedis.url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    api = await startApiProcess(options.modelsDir, options.model, options.projectRoot, { REDIS_URL: privateRedis.url });
    const started = api;
    forgetApi = options.cleanup.add(() => started.stop());
    const prefix = api.keyPrefix;
    const server = await redis.info('server');
    const version = /^redis_version:(\S+)/m.exec(server)?.[1] ?? '?';
    const allocator = /^mem_allocator:(\S+)/m.exec(await redis.info('memory'))?.[1] ?? '?';
    await sleep(500);
    const baseline = await usedMemory(redis);

    const cpu0 = await redisSeconds(redis);
    const { id, total } = await upload(api.url, file.path);
    const cpu1 = await redisSeconds(redis);
    await sleep(500);
    const queuedMemory = await usedMemory(redis);
    const queuedGroups = await keysByGroup(redis, prefix);

    const workerEnv = { ...process.env, REDIS_URL: privateRedis.url, SIFT_KEY_PREFIX: prefix, SIFT_MODELS_DIR: options.modelsDir, SIFT_DEFAULT_MODEL: options.model };
    const context = { url: api.url, apiPid: api.pid, projectRoot: options.projectRoot, redisUrl: privateRedis.url, keyPrefix: prefix, workerEnv };
    const cpu2 = await redisSeconds(redis);
    worker = await startWorker(context);
    // From the worker's readiness: its start-up (loading the model) is no part of labelling.
    const labelStarted = performance.now();
    const client = new SiftClient(api.url);
    try {
      for (;;) {
        const { batch } = await client.request(BatchDocument, { id });
        if (!batch) throw new Error(`batch ${id} disappeared`);
        if (batch.status === 'FAILED' || batch.status === 'CANCELLED') throw new Error(`batch ${id} ended ${batch.status}: ${batch.error}`);
        if (batch.status === 'COMPLETED') break;
        if (performance.now() - labelStarted > 120_000 + total) throw new Error(`batch ${id} did not complete in time`);
        await sleep(100);
      }
    } finally {
      await client.close();
    }
    const labelSeconds = (performance.now() - labelStarted) / 1000;
    const cpu3 = await redisSeconds(redis);
    // Stopped, so its connections (and their buffers) leave used_memory.
    await worker.stop();
    worker = undefined;
    await sleep(500);
    const afterWithCache = await usedMemory(redis);
    const afterGroups = await keysByGroup(redis, prefix);
    const cacheHashes = (await redis.keys(`${prefix}pred:*`));
    const cacheEntries = (await Promise.all(cacheHashes.map((key) => redis.hlen(key)))).reduce((sum, count) => sum + count, 0);
    await deleteNow(redis, `${prefix}pred:`);
    await sleep(200);
    const afterMemory = await usedMemory(redis);
    delete afterGroups['prediction cache'];

    const ingestUsPerRow = (1e6 * (cpu1 - cpu0)) / total;
    const labelUsPerRow = (1e6 * (cpu3 - cpu2)) / total;
    const { path: _path, ...described } = file;
    return {
      file: described,
      textBytesPerRow: file.textBytes / file.rows,
      csvBytesPerRow: file.bytes / file.rows,
      redis: { version, allocator },
      queued: { usedMemoryDelta: queuedMemory - baseline, bytesPerRow: (queuedMemory - baseline) / total, byGroup: queuedGroups },
      after: { usedMemoryDelta: afterMemory - baseline, bytesPerRow: (afterMemory - baseline) / total, byGroup: afterGroups },
      cache: { entries: cacheEntries, hashes: cacheHashes.length, usedMemoryDelta: afterWithCache - afterMemory, bytesPerEntry: (afterWithCache - afterMemory) / cacheEntries,
        hashNameBytes: cacheHashes[0]?.length ?? NaN,
      },
      redisCpu: { ingestUsPerRow, labelUsPerRow, ceilingRowsPerSecond: 1e6 / (ingestUsPerRow + labelUsPerRow), labelSeconds, workerRowsPerSecond: total / labelSeconds },
    };
  } finally {
    await worker?.stop();
    redis.disconnect();
    if (api) {
      const { deletedKeys } = await api.stop();
      options.log(`bench: API stopped, ${deletedKeys} keys under ${api.keyPrefix} deleted`);
    }
    forgetApi?.();
    await privateRedis.stop();
    forgetRedis();
  }
}
