import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureRedis, redisAnswers } from '../../src/supervision/private-redis';
import { createLogger } from '../../src/logger';
import { freePort } from '../support/api';
import { TEST_REDIS_URL } from '../support/redis';

/** The process group of a process (the fifth field of /proc/PID/stat, after the command's closing parenthesis). */
function processGroup(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

function capture() {
  const lines: string[] = [];
  return { lines, logger: createLogger('info', 'start', (line) => lines.push(line)) };
}

/** A PATH holding only `node` (no redis-server), as on a machine without Redis installed. */
function pathWithoutRedis(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sift-path-'));
  symlinkSync(process.execPath, path.join(dir, 'node'));
  return dir;
}

describe('ensureRedis (npm start)', () => {
  it('does nothing when Redis already answers', async () => {
    const { lines, logger } = capture();
    expect(await ensureRedis(TEST_REDIS_URL, logger)).toBeUndefined();
    expect(lines).toEqual([]);
  });

  it('starts a private redis-server on the URL\'s port when nothing answers there, and says so', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const { lines, logger } = capture();
    const started = await ensureRedis(url, logger);
    try {
      expect(started).toBeDefined();
      expect(await redisAnswers(url)).toBe(true);
      expect(lines.join('')).toContain(`started a private redis-server on 127.0.0.1:${port}`);
      // A process group of its own: a terminal's Ctrl-C (SIGINT to the foreground group) does not
      // stop it before Sift has drained; Sift stops it last.
      expect(processGroup(started!.process.pid!)).not.toBe(processGroup(process.pid));
    } finally {
      await started?.stop();
    }
    expect(await redisAnswers(url, 300)).toBe(false);
  });

  it('tells the user how to get Redis when none answers and none can be started', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await expect(ensureRedis(url, capture().logger, pathWithoutRedis())).rejects.toThrow(/no redis-server is on the PATH.*apt-get install redis-server.*REDIS_URL/);
  });

  it('never starts a local server for a Redis that is not on loopback', async () => {
    // 0.0.0.0 reaches this machine without leaving it, yet is not a loopback name Sift would serve.
    const url = `redis://0.0.0.0:${await freePort()}`;
    await expect(ensureRedis(url, capture().logger)).rejects.toThrow(`Nothing answers at REDIS_URL=${url}`);
  });
});
