import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ErrorCodes, setupError } from '../errors';
import type { Logger } from '../logger';
import { redactUrl } from '../redis/connections';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * True when a Redis server answers at `url` within `timeoutMs`. Speaks RESP over a plain socket:
 * any reply to PING, even "-NOAUTH" from a server with a password, means a Redis is there.
 */
export function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const parsed = new URL(url);
  const options = { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) };
  return new Promise((resolve) => {
    const socket = parsed.protocol === 'rediss:' ? tlsConnect({ ...options, servername: options.host }) : netConnect(options);
    const finish = (answered: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once(parsed.protocol === 'rediss:' ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.once('data', (data: Buffer) => finish(data[0] === 0x2b /* + */ || data[0] === 0x2d /* - */));
    socket.once('error', () => finish(false));
  });
}

/** The executable `name` on the given PATH, or undefined. */
function findBinary(name: string, pathEnv: string | undefined): string | undefined {
  for (const dir of (pathEnv ?? '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** A Redis server this process started for itself; stopped with the process. */
export interface PrivateRedis {
  process: ChildProcess;
  stop(): Promise<void>;
}

export const HOW_TO_GET_REDIS =
  'Sift needs Redis. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) and run `npm start` again, ' +
  'start one with Docker (`docker compose -f docker-compose.yml -f deploy/compose/host-redis.yml up -d redis`), or set REDIS_URL to a Redis server you have.';

/**
 * Makes sure Redis answers at `url`. When nothing answers there, the URL points at this machine and
 * a `redis-server` binary is on the PATH, starts a private, memory-only one on that port and says
 * so; otherwise throws a message telling the user how to get Redis.
 */
export async function ensureRedis(url: string, logger: Logger, pathEnv = process.env.PATH): Promise<PrivateRedis | undefined> {
  if (await redisAnswers(url)) return undefined;
  const parsed = new URL(url);
  const where = redactUrl(url);
  const unreachable = (message: string) => setupError(ErrorCodes.REDIS_UNREACHABLE, message);
  if (!LOOPBACK.has(parsed.hostname)) throw unreachable(`Nothing answers at REDIS_URL=${where}. Start that Redis server or point REDIS_URL at one that runs.`);
  const binary = findBinary('redis-server', pathEnv);
  if (!binary) throw unreachable(`Nothing answers at REDIS_URL=${where}, and no redis-server is on the PATH to start one. ${HOW_TO_GET_REDIS}`);
  const port = parsed.port || '6379';
  const args = ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  if (parsed.password) args.push('--requirepass', decodeURIComponent(parsed.password));
  // A process group of its own: Ctrl-C in a terminal signals the whole foreground group, and a
  // private Redis that stopped with it would leave the API and the workers to drain against no
  // Redis (each saying so). Sift stops it last, and when this process exits at all.
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  logger.info(`Nothing answered at ${where}, so Sift started a private redis-server on 127.0.0.1:${port} (memory only; it stops with Sift). If REDIS_URL names a Redis of your own that is only restarting, set SIFT_PRIVATE_REDIS=off: Sift then waits for it.`);
  for (let attempt = 0; attempt < 50; attempt++) {
    if (child.exitCode !== null) throw unreachable(`The private redis-server exited at once (code ${child.exitCode}); is port ${port} taken? ${HOW_TO_GET_REDIS}`);
    if (await redisAnswers(url, 200)) {
      return {
        process: child,
        stop: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw unreachable(`The private redis-server on port ${port} did not answer within 5 seconds. ${HOW_TO_GET_REDIS}`);
}
