/**
 * `node dist/bench/cache-writes.js`: what writing a batch's fresh predictions to the shared cache
 * costs the writing process and Redis, with PredictionCache.writeValues (one script call per group
 * of entries, sent as a bulk command: src/redis/bulk-command.ts) against the same script calls
 * encoded by ioredis, and one SET ... EX per entry (what it did first); then reading them back,
 * MGET sent as a bulk command against ioredis's. In alternating rounds on a redis-server of its
 * own. 140,000 entries in groups of 700: the misses of a 200,000-row file with 30% repeated texts,
 * chunk by chunk (1,000 rows a chunk). CPU seconds, so the figures hold on a busy machine too.
 */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { PredictionCache, setWithTtl, textHash } from '../src/cache/prediction-cache';
import { sendBulk } from '../src/redis/bulk-command';
import { createLogger } from '../src/logger';
import { redisKeys } from '../src/redis/keys';
import { freePort } from './api-process';
import { redisAnswers } from './fault-processes';

const ENTRIES = Number(process.env.BENCH_CACHE_ENTRIES ?? 140_000);
const PER_CHUNK = 700;
const ROUNDS = 3;
const TTL = 3600;

async function redisCpuSeconds(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)![1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

async function main(): Promise<void> {
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let tries = 0; !(await redisAnswers(url)); tries++) {
    if (tries === 100) throw new Error(`the bench's redis-server on port ${port} did not answer`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const admin = new Redis(url);
  // As a worker's connection is (src/redis/connections.ts): auto-pipelined.
  const redis = new Redis(url, { enableAutoPipelining: true });
  try {
    const keys = redisKeys('bench:');
    const cache = new PredictionCache(redis, keys, TTL, createLogger('warn', 'bench'));
    const value = JSON.stringify([0.1234567, 0.8765433]);
    const ways: Record<string, (group: { key: string; value: string }[]) => Promise<unknown>> = {
      'SET each': (group) => Promise.all(group.map((entry) => redis.set(entry.key, entry.value, 'EX', TTL))),
      'script, ioredis-encoded': (group) => setWithTtl.run(redis, group.map((entry) => entry.key), [TTL, ...group.map((entry) => entry.value)]),
      'writeValues': (group) => cache.writeValues(
        group.map((entry) => entry.key),
        group.map((entry) => entry.value),
      ),
    };
    const reads: Record<string, (keys: string[]) => Promise<unknown>> = {
      'MGET, ioredis-encoded': (group) => redis.mget(group),
      'MGET, bulk': (group) => sendBulk(redis, 'mget', group),
    };
    console.log(`${ENTRIES} cache entries written in chunks of ${PER_CHUNK}; CPU seconds of the writer and of Redis`);
    console.log('round  way                      wall ms  client cpu  redis cpu');
    /** Runs `work`, then prints its wall time and the CPU seconds of this process and of Redis. */
    const timed = async (round: number, name: string, work: () => Promise<void>) => {
      const redisBefore = await redisCpuSeconds(admin);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await work();
      const wall = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const redisCpu = (await redisCpuSeconds(admin)) - redisBefore;
      console.log(`${String(round).padEnd(5)}  ${name.padEnd(23)}  ${wall.toFixed(0).padStart(7)}  ${((cpu.user + cpu.system) / 1e6).toFixed(2).padStart(10)}  ${redisCpu.toFixed(2).padStart(9)}`);
    };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, write] of Object.entries(ways)) {
        await admin.flushall();
        const entries = Array.from({ length: ENTRIES }, (_, i) => ({ key: keys.prediction('m', 'v', textHash(`${name} ${round} ${i}`)), value }));
        await timed(round, name, async () => {
          for (let start = 0; start < entries.length; start += PER_CHUNK) await write(entries.slice(start, start + PER_CHUNK));
        });
        if ((await admin.dbsize()) !== ENTRIES) throw new Error(`${name}: ${await admin.dbsize()} keys written of ${ENTRIES}`);
      }
      // The last way's entries are in Redis: each read way reads them all back.
      const stored = (await admin.keys('bench:pred:*')).sort();
      for (const [name, read] of Object.entries(reads)) {
        let found = 0;
        await timed(round, name, async () => {
          for (let start = 0; start < stored.length; start += PER_CHUNK) found += ((await read(stored.slice(start, start + PER_CHUNK))) as (string | null)[]).filter((v) => v === value).length;
        });
        if (found !== ENTRIES) throw new Error(`${name}: ${found} entries read of ${ENTRIES}`);
      }
    }
  } finally {
    redis.disconnect();
    admin.disconnect();
    server.kill();
  }
}

main().catch((error: Error) => {
  console.error(error);
  process.exitCode = 1;
});
