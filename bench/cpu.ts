import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * CPU seconds used so far by the three parties sharing the cores: the load generator (this
 * process, all threads), the API child (all threads, from /proc) and Redis (INFO cpu). The
 * difference of two snapshots over a scenario shows who competes for the machine.
 */
export interface CpuSnapshot {
  at: number;
  client: number;
  api: number;
  redis: number;
}

/** CPU use over a window, in % of one core (a 2-core machine tops out at 200). */
export interface CpuShare {
  clientPct: number;
  apiPct: number;
  redisPct: number;
}

// Clock ticks per second for /proc/<pid>/stat; 100 on every mainstream Linux build.
const CLOCK_TICKS = 100;

export function procSeconds(pid: number): number {
  try {
    // Fields after the ")" that closes the command name: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN; // not Linux, or the process is gone
  }
}

export async function redisSeconds(redis: Redis): Promise<number> {
  try {
    const info = await redis.info('cpu');
    const value = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
    return value('used_cpu_user') + value('used_cpu_sys');
  } catch {
    return NaN;
  }
}

/** Takes a snapshot now. */
export async function cpuSnapshot(apiPid: number, redis: Redis): Promise<CpuSnapshot> {
  const self = process.cpuUsage();
  return { at: performance.now(), client: (self.user + self.system) / 1e6, api: procSeconds(apiPid), redis: await redisSeconds(redis) };
}

/** CPU shares between two snapshots. */
export function cpuShare(before: CpuSnapshot, after: CpuSnapshot): CpuShare {
  const wall = (after.at - before.at) / 1000;
  const pct = (a: number, b: number) => Math.round(((b - a) / wall) * 1000) / 10;
  return { clientPct: pct(before.client, after.client), apiPct: pct(before.api, after.api), redisPct: pct(before.redis, after.redis) };
}
