import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/config';
import type { ProbeReply, ProbeRequest } from './event-loop-probe';
import { childNodeArgs } from './settings';

/** The API child's event-loop delay over a window the bench chooses, in ms. */
export interface EventLoopDelay {
  p50: number;
  p99: number;
  max: number;
}

/** The bench's own event-loop probe inside the API child (event-loop-probe.ts). */
export interface EventLoopProbe {
  /** Starts a new window (resolves once the child did). */
  reset(): Promise<void>;
  /** The delay since the last reset. */
  read(): Promise<EventLoopDelay>;
}

/** The API under test, running as a child process on loopback. */
export interface ApiProcess {
  url: string;
  pid: number;
  /** Its Redis key prefix (unique to this run). */
  keyPrefix: string;
  /** The settings that shape the numbers, as the child read them. */
  settings: { inferenceThreads: number; maxRunSize: number; runWindowMs: number; redisUrl: string };
  /** Its event-loop delay over the bench's own windows (the API's /metrics has no reset). */
  eventLoop: EventLoopProbe;
  /** SIGTERM (SIGKILL after 5 s), then deletes the run's Redis keys. Safe to call twice. */
  stop(): Promise<{ deletedKeys: number }>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the API exited during start-up (code ${child.exitCode ?? child.signalCode}); see its output above`);
    const status = await fetch(`${url}/readyz`).then((r) => r.status, () => 0);
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the API at ${url} was not ready within ${timeoutMs / 1000} s`);
}

/** Asks the probe the child preloaded, over its IPC channel; an answer that does not come within 5 s fails the run. */
function eventLoopProbe(child: ChildProcess): EventLoopProbe {
  let lastId = 0;
  const ask = (op: ProbeRequest['op']) =>
    new Promise<EventLoopDelay>((resolve, reject) => {
      const id = ++lastId;
      const done = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (reply: Partial<ProbeReply>) => {
        if (reply?.probe !== 'event-loop' || reply.id !== id) return;
        done();
        resolve({ p50: reply.p50!, p99: reply.p99!, max: reply.max! });
      };
      const onExit = () => {
        done();
        reject(new Error('the API child exited before its event-loop probe answered'));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error("the API child's event-loop probe did not answer within 5 s"));
      }, 5000);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ probe: 'event-loop', id, op } satisfies ProbeRequest);
    });
  return { reset: async () => void (await ask('reset')), read: () => ask('read') };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Deletes every key under `prefix` with SCAN + UNLINK (never KEYS, which blocks a shared Redis). */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 2000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/**
 * Starts `node dist/src/cli/sift.js up` (what `npm start` runs) on a free loopback port with a unique
 * Redis key prefix, and resolves once `GET /readyz` answers 200. The child inherits the
 * environment, so SIFT_INFERENCE_THREADS, SIFT_RUN_WINDOW_MS etc. set for the bench reach it;
 * `extraEnv` (e.g. a private REDIS_URL) goes on top. Its output goes to this process's, or to
 * `logFile` (its log lines written where a log collector would read them, not to a terminal).
 */
export async function startApiProcess(modelsDir: string, model: string, projectRoot: string, extraEnv: NodeJS.ProcessEnv = {}, logFile?: string, nodeArgs = childNodeArgs('BENCH_API_NODE_ARGS')): Promise<ApiProcess> {
  const port = await freePort();
  const keyPrefix = `sift-bench:${randomBytes(6).toString('hex')}:`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    SIFT_LOG_LEVEL: 'warn',
    SIFT_KEY_PREFIX: keyPrefix,
    SIFT_MODELS_DIR: modelsDir,
    SIFT_DEFAULT_MODEL: model,
    // The online scenarios measure the API alone; an idle worker would only hold memory.
    SIFT_WORKERS: process.env.SIFT_WORKERS ?? '0',
    // The bench is one client far busier than the limits allow anyone: they stay on (what they
    // cost is measured) but so high that no request meets them.
    SIFT_RATE_REQUESTS_PER_SECOND: '100000000',
    SIFT_RATE_TEXTS_PER_SECOND: '100000000',
    SIFT_RATE_BATCHES_PER_MINUTE: '100000000',
    SIFT_RATE_BATCH_ROWS_PER_MINUTE: '100000000000',
    ...extraEnv,
  };
  const config = loadConfig(env, projectRoot);
  // The bench's event-loop probe rides along (--require, for this process alone), asked over an IPC channel.
  const probe = path.join(projectRoot, 'dist', 'bench', 'event-loop-probe.js');
  const output = logFile === undefined ? 'inherit' : openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeArgs, '--require', probe, path.join(projectRoot, 'dist', 'src', 'cli', 'sift.js'), 'up'], { cwd: projectRoot, env, stdio: ['ignore', output, output, 'ipc'] });
  if (typeof output === 'number') closeSync(output);
  // Nor may the channel keep the bench alive.
  child.channel?.unref();
  const url = `http://127.0.0.1:${port}`;
  let stopped: Promise<{ deletedKeys: number }> | undefined;
  let killed = false;
  // An API that dies under load (out of memory, a crash) must say so, not only fail the next
  // request. (Its exit can be seen after that request failed and stop() was called.)
  child.once('exit', (code, signal) => {
    const asked = (signal === 'SIGTERM' || code === 0 || (killed && signal === 'SIGKILL')) && stopped !== undefined;
    if (!asked) process.stderr.write(`bench: the API child (pid ${child.pid}) exited by itself: code ${code}, signal ${signal}\n`);
  });
  const stop = () =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => (killed = child.kill('SIGKILL')), 5000);
        await exited(child);
        clearTimeout(timer);
      }
      // After the exit, so no late cache write lands behind the clean-up.
      return { deletedKeys: await deleteKeys(config.redisUrl, keyPrefix) };
    })());
  try {
    await waitReady(url, child, 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    pid: child.pid!,
    keyPrefix,
    settings: { inferenceThreads: config.inferenceThreads, maxRunSize: config.maxRunSize, runWindowMs: config.runWindowMs, redisUrl: config.redisUrl },
    eventLoop: eventLoopProbe(child),
    stop,
  };
}
