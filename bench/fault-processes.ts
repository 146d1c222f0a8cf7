/**
 * The processes the faults section breaks on purpose: a redis-server of its own with AOF on, which
 * it shuts down and starts again on the same port and data folder, and `sift up` children on a
 * fixed port, which it kills and starts again there, reading their log lines (with the times the
 * log gives them) as they come.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './api-process';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a Redis at `url` answers PING within `ms`. */
export async function redisAnswers(url: string, ms = 500): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: ms, enableOfflineQueue: false });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A redis-server of the bench's own, as a production Redis runs: append-only file, fsync every second. */
export interface AofRedis {
  url: string;
  version: string;
  /** `SHUTDOWN` (the AOF is written out first), resolved once the process has exited. */
  shutdown(): Promise<void>;
  /** Starts it again on the same port and data folder; resolves once it answers PING (with its data loaded). */
  start(): Promise<void>;
  /** Stops it (if running) and deletes its data folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts a redis-server with `--appendonly yes --appendfsync everysec` on a free loopback port, its data in a temporary folder. */
export async function startAofRedis(): Promise<AofRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sift-bench-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    child = started;
    const failed = new Promise<never>((_, reject) => started.once('error', (error) => reject(new Error(`could not start redis-server (is it on the PATH?): ${error.message}`))));
    failed.catch(() => undefined);
    const deadline = Date.now() + 30_000;
    // Loading the AOF answers PING with LOADING (an error): ready means PONG.
    while (!(await Promise.race([redisAnswers(url, 200), failed]))) {
      if (started.exitCode !== null || Date.now() > deadline) throw new Error(`the bench's redis-server on port ${port} did not answer within 30 s`);
      await sleep(20);
    }
  };
  const shutdown = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    admin.on('error', () => undefined);
    await admin.connect();
    // SHUTDOWN closes the connection instead of answering.
    await admin.call('SHUTDOWN').catch(() => undefined);
    admin.disconnect();
    const timer = setTimeout(() => running.kill('SIGKILL'), 10_000);
    await exited(running);
    clearTimeout(timer);
  };
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
      rmSync(dir, { recursive: true, force: true });
    })());
  try {
    await start();
    const probe = new Redis(url, { maxRetriesPerRequest: 1 });
    probe.on('error', () => undefined);
    const version = /^redis_version:(\S+)/m.exec(await probe.info('server'))?.[1] ?? '?';
    probe.disconnect();
    return { url, version, shutdown, start, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One log line of a child, with the time its logger put in front of it (ms since the epoch; NaN when it had none). */
export interface LogLine {
  at: number;
  text: string;
}

/** `sift up` (what `npm start` runs) as a child on a fixed port, its output kept line by line. */
export interface SiftUpChild {
  url: string;
  pid: number;
  /** Every line it (and the workers it runs) printed so far. */
  lines(): readonly LogLine[];
  /** The first line from index `from` on that matches, waiting up to `timeoutMs` for it. */
  waitFor(pattern: RegExp, timeoutMs: number, from?: number): Promise<{ line: LogLine; match: RegExpExecArray; index: number }>;
  alive(): boolean;
  /** SIGKILL, as a crash or the OOM killer would, resolved once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM (SIGKILL after 10 s), resolved once it is gone. Safe to call twice. */
  stop(): Promise<void>;
}

// 2026-12-03T08:26:35.789Z INFO  [sift] ...
const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) /;

/**
 * When a log line was written: its timestamp, in the pretty format or as pino's JSON `time` (what
 * `sift up` writes when its output is not a terminal, as here), else when it arrived.
 */
function lineTime(text: string): number {
  const stamp = STAMP.exec(text);
  if (stamp) return Date.parse(stamp[1]);
  if (text.startsWith('{')) {
    try {
      const time = (JSON.parse(text) as { time?: unknown }).time;
      if (typeof time === 'number') return time;
      if (typeof time === 'string' && !Number.isNaN(Date.parse(time))) return Date.parse(time);
    } catch {
      // not JSON after all
    }
  }
  return Date.now();
}

/**
 * Starts `node dist/src/cli/sift.js up` with `env` on top of this process's environment (PORT,
 * SIFT_KEY_PREFIX, REDIS_URL, SIFT_WORKERS, ... are the caller's) and, when `waitReady`, resolves
 * once `GET /readyz` answers 200.
 */
export async function startSiftUp(projectRoot: string, port: number, env: Record<string, string>, waitReady = true): Promise<SiftUpChild> {
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'src', 'cli', 'sift.js'), 'up'], {
    cwd: projectRoot,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let partial = '';
  const collect = (data: Buffer) => {
    const parts = (partial + data.toString()).split('\n');
    partial = parts.pop()!;
    for (const text of parts) {
      // A worker's lines under sift up pass through the same pipes; keep the newest 5,000 lines.
      lines.push({ at: lineTime(text), text });
      if (lines.length > 5000) lines.splice(0, 1000);
    }
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  const alive = () => child.exitCode === null && child.signalCode === null;
  const waitFor: SiftUpChild['waitFor'] = async (pattern, timeoutMs, from = 0) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let index = from; index < lines.length; index++) {
        const match = pattern.exec(lines[index].text);
        if (match) return { line: lines[index], match, index };
      }
      if (Date.now() > deadline) throw new Error(`sift up (pid ${child.pid}) did not print ${pattern} within ${timeoutMs / 1000} s; its last lines:\n${lines.slice(-20).map((l) => l.text).join('\n')}`);
      await sleep(20);
    }
  };
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited(child);
      clearTimeout(timer);
    })());
  const started: SiftUpChild = {
    url,
    pid: child.pid!,
    lines: () => lines,
    waitFor,
    alive,
    kill: async () => {
      if (alive()) child.kill('SIGKILL');
      await exited(child);
    },
    stop,
  };
  if (!waitReady) return started;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!alive()) throw new Error(`sift up exited during start-up (code ${child.exitCode ?? child.signalCode}); its last lines:\n${lines.slice(-20).map((l) => l.text).join('\n')}`);
    if ((await fetch(`${url}/readyz`).then((r) => r.status, () => 0)) === 200) return started;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`sift up at ${url} was not ready within 60 s`);
    }
    await sleep(50);
  }
}
