import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { redisAnswers } from '../../src/supervision/private-redis';

/** A real redis-server of the test's own on `port`, so the test may stop it to simulate an outage. */
export interface TestRedisServer {
  url: string;
  /** Ends it at once (SIGKILL): what is not on disk is lost. */
  kill(): Promise<void>;
  /** Asks it to shut down as an operator's restart would (SHUTDOWN: with AOF on, every write is kept). */
  shutdown(): Promise<void>;
  /** Starts it again on the same port and data folder. */
  start(): Promise<void>;
}

export interface TestRedisOptions {
  /** Keep every write in an append-only file, so a restart keeps the data (as a production Redis would). */
  appendOnly?: boolean;
  /** A password (`requirepass`): `url` then carries it. */
  password?: string;
}

export async function startRedisServer(port: number, options: TestRedisOptions = {}): Promise<TestRedisServer> {
  const url = options.password === undefined ? `redis://127.0.0.1:${port}` : `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'sift-redis-'));
  let child: ChildProcess | undefined;
  const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', options.appendOnly ? 'yes' : 'no', '--dir', dir, ...(options.password === undefined ? [] : ['--requirepass', options.password])], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await redisAnswers(url, 200)); i++) await new Promise((r) => setTimeout(r, 50));
    if (!(await redisAnswers(url, 500))) throw new Error(`test redis-server on port ${port} did not start`);
  };
  const stop = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const running = child;
      if (!running || exited(running)) return resolve();
      running.once('exit', () => resolve());
      running.kill(signal);
    });
  await start();
  return {
    url,
    // SIGTERM makes redis-server shut down as SHUTDOWN does: it writes the AOF out, then exits.
    shutdown: () => stop('SIGTERM'),
    start,
    kill: async () => {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
