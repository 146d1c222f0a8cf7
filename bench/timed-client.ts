import { spawn, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import type { Cleanup } from './cleanup';
import { epochMs, type CpuTimeline } from './cpu-timeline';

/** A client process the file section timed, run to its end. */
export interface ClientRun {
  code: number | null;
  /** All it wrote to stdout (its one result line or JSON summary). */
  stdout: string;
  /** The last 4 kB it wrote to stderr, for the error when it fails. */
  stderrTail: string;
  /** When it was spawned and when it closed (epoch ms, as the timeline counts). */
  spawnAt: number;
  exitAt: number;
}

/**
 * Spawns a client (`sift batch`, the peer's client.py) as `party` of a started CPU timeline (its
 * CPU from the spawn: `onSpawn` gives the timeline's reader the pid), kills it if the bench is
 * aborted meanwhile, and waits for it to close.
 */
export async function runTimedClient<Party extends string>(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
  run: { timeline: CpuTimeline<Party>; party: Party; cleanup: Cleanup; onSpawn(pid: number | undefined): void },
): Promise<ClientRun> {
  const spawnAt = epochMs();
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  run.onSpawn(child.pid);
  run.timeline.add(run.party, spawnAt, 0);
  const forget = run.cleanup.add(async () => void child.kill('SIGKILL'));
  let stdout = '';
  let stderrTail = '';
  child.stdout!.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (stderrTail = (stderrTail + data.toString()).slice(-4096)));
  const [code] = (await once(child, 'close')) as [number | null];
  const exitAt = epochMs();
  forget();
  return { code, stdout, stderrTail, spawnAt, exitAt };
}
