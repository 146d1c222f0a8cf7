/**
 * `node dist/bench/cache-writes.js`: what writing a batch's fresh predictions to the shared cache,
 * and reading them back, costs the writing process and Redis: PredictionCache as it is (fields of
 * windowed hashes, cache-windows.ts) against a key per entry, as releases before it kept them (a
 * script call per group of entries setting each with SET ... EX, and MGET to read them, both sent
 * as bulk commands). In alternating rounds on a redis-server of its own, flushed before each way:
 * 140,000 entries in groups of 700, the misses of a 200,000-row file with 30% repeated texts, chunk
 * by chunk (1,000 rows a chunk). CPU seconds, so the figures hold on a busy machine too, and the
 * memory Redis used per entry.
 */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { decodeScores, PredictionCache, textHash } from '../src/cache/prediction-cache';
import { sendBulk } from '../src/redis/bulk-command';
import { variadicLuaScript } from '../src/redis/lua-script';
import { createLogger } from '../src/logger';
import { redisKeys } from '../src/redis/keys';
import { freePort } from './api-process';
import { redisAnswers } from './fault-processes';

const ENTRIES = Number(process.env.BENCH_CACHE_ENTRIES ?? 140_000);
const PER_CHUNK = 700;
const ROUNDS = 3;
const TTL = 3600;

/** How releases before windowed hashes wrote a group of entries: SET key value EX ttl for each key. */
const setWithTtl = variadicLuaScript(`local ttl = ARGV[1]
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ttl) end
return #KEYS`);

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
    const value = JSON.stringify([0.12345678901234567, 0.8765432109876543]);
    const model = { name: 'm', version: 'v' };
    interface Way {
      write(hashes: string[]): Promise<unknown>;
      read(hashes: string[]): Promise<(string | null)[]>;
    }
    const keyOf = (hash: string) => keys.prediction(model.name, model.version, hash);
    const ways: Record<string, Way> = {
      // Read as PredictionCache read: each value decoded (the same on either side).
      'a key per entry (before)': {
        write: (group) => setWithTtl.run(redis, group.map(keyOf), [TTL, ...group.map(() => value)], { bulk: true }),
        read: async (group) => ((await sendBulk(redis, 'mget', group.map(keyOf))) as (string | null)[]).map((found) => (found !== null && decodeScores(found) ? found : null)),
      },
      'windowed hashes': {
        write: (group) => cache.writeValues(model, group, group.map(() => value)),
        read: async (group) => (await cache.readEntries(model, group)).map((entry) => entry?.scoresJson ?? null),
      },
    };
    console.log(`${ENTRIES} cache entries written and read in chunks of ${PER_CHUNK}; CPU seconds of the client and of Redis, and Redis's memory per entry`);
    console.log('round  way                        what    wall ms  client cpu  redis cpu  bytes/entry');
    /** Runs `work`, then prints its wall time, the CPU seconds of this process and of Redis, and Redis's memory per entry. */
    const timed = async (round: number, name: string, what: string, work: () => Promise<void>) => {
      const redisBefore = await redisCpuSeconds(admin);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await work();
      const wall = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const redisCpu = (await redisCpuSeconds(admin)) - redisBefore;
      const memory = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
      console.log(
        `${String(round).padEnd(5)}  ${name.padEnd(25)}  ${what.padEnd(5)}  ${wall.toFixed(0).padStart(7)}  ${((cpu.user + cpu.system) / 1e6).toFixed(2).padStart(10)}  ${redisCpu.toFixed(2).padStart(9)}  ${((memory - emptyMemory) / ENTRIES).toFixed(0).padStart(11)}`,
      );
    };
    let emptyMemory = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, way] of Object.entries(ways)) {
        await admin.flushall();
        emptyMemory = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
        const hashes = Array.from({ length: ENTRIES }, (_, i) => textHash(`${name} ${round} ${i}`));
        await timed(round, name, 'write', async () => {
          for (let start = 0; start < hashes.length; start += PER_CHUNK) await way.write(hashes.slice(start, start + PER_CHUNK));
        });
        let found = 0;
        await timed(round, name, 'read', async () => {
          for (let start = 0; start < hashes.length; start += PER_CHUNK) found += (await way.read(hashes.slice(start, start + PER_CHUNK))).filter((v) => v === value).length;
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
