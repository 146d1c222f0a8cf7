import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/logger';
import { startWorkerProcesses, type WorkerProcessOptions } from '../../src/supervision/worker-processes';
import { eventually } from '../support/api';
import { childProcesses, isAlive } from '../support/child-processes';

// The supervisor with stand-in workers: `node -e SCRIPT` instead of the real worker entry point,
// and short waits. Each script carries a marker of its own, so the test can find its live
// children with `ps` without mistaking anything else for them.

/** Supervises `count` workers running `script`; `onLine` sees each log line as it is written. */
function supervise(count: number, script: string, options: WorkerProcessOptions, env: Record<string, string> = {}, onLine?: (line: string) => void) {
  const marker = `sift-test-worker-${randomBytes(4).toString('hex')}`;
  const lines: string[] = [];
  const logger = createLogger('info', 'sift', (line) => {
    lines.push(line);
    onLine?.(line);
  });
  const workers = startWorkerProcesses(count, env, logger, { ...options, args: ['-e', `/* ${marker} */ ${script}`] });
  return { lines, marker, workers };
}

/** Pids of this process's live children that run a script carrying `marker`. */
const liveChildren = (marker: string) => childProcesses(process.pid).filter((child) => child.args.includes(marker)).map((child) => child.pid);

const exitLines = (lines: string[]) => lines.filter((line) => line.includes('exited unexpectedly'));
const restartLines = (lines: string[]) => lines.filter((line) => / restarted \(pid \d+\)/.test(line));
/** The waits the exit lines announce, in ms. */
const announcedDelays = (lines: string[]) =>
  exitLines(lines).map((line) => {
    const [, amount, unit] = /restarting it in ([\d.]+) (ms|s)/.exec(line)!;
    return unit === 's' ? Number(amount) * 1000 : Number(amount);
  });
const pidsIn = (lines: string[]) => lines.map((line) => Number(/\(pid (\d+)\)/.exec(line)?.[1]));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('worker processes (sift up)', () => {
  it('restarts a worker that keeps exiting at once, waiting twice as long each time up to the cap', async () => {
    const started = Date.now();
    const { lines, workers } = supervise(1, 'process.exit(3)', { initialRestartDelayMs: 100, maxRestartDelayMs: 400, stableAfterMs: 60_000 });
    try {
      await eventually(async () => exitLines(lines).length >= 6, 20_000, 'six exits');
      const sixthExit = Date.now();
      expect(announcedDelays(lines).slice(0, 6)).toEqual([100, 200, 400, 400, 400, 400]);
      const exits = exitLines(lines).slice(0, 6);
      for (const line of exits) expect(line).toMatch(/worker 1 \(pid \d+\) exited unexpectedly \(code 3\) after/);
      expect(exits[0]).not.toContain('in a row');
      expect(exits[1]).toContain('2 exits in a row, each within 1 min 0 s of starting: it keeps failing (its own log above says why)');
      expect(exits[1]).not.toContain('while it keeps failing');
      expect(exits[2]).toContain('restarting it in 400 ms, and every 400 ms while it keeps failing');
      // Never a tight loop: five waits (100 + 200 + 400 + 400 + 400 ms) lie between start and the sixth exit.
      expect(sixthExit - started).toBeGreaterThanOrEqual(1500);
      const restarts = restartLines(lines);
      expect(restarts.length).toBeGreaterThanOrEqual(5);
      // Each restart is a new process, and the one an exit line names is the one that was restarted.
      expect(new Set(pidsIn(restarts)).size).toBe(restarts.length);
      expect(pidsIn(exits).slice(1)).toEqual(pidsIn(restarts).slice(0, 5));
      expect(lines[0]).toMatch(/started 1 worker process\(es\) \(pid \d+\); SIFT_WORKERS sets how many/);
      expect(pidsIn(exits)[0]).toBe(pidsIn([lines[0]])[0]);
    } finally {
      await workers.stop();
    }
  });

  it('says a worker that keeps being killed by a signal is stopped from outside, not that its log says why', async () => {
    // The worker kills itself as the out-of-memory killer would: SIGKILL, with nothing written.
    const { lines, workers } = supervise(1, "process.kill(process.pid, 'SIGKILL')", { initialRestartDelayMs: 100, maxRestartDelayMs: 400, stableAfterMs: 60_000 });
    try {
      await eventually(async () => exitLines(lines).length >= 2, 20_000, 'two exits');
      const exits = exitLines(lines);
      expect(exits[0]).toMatch(/exited unexpectedly \(signal SIGKILL\)/);
      // Before: "(its own log above says why)", and a killed worker's log says nothing.
      expect(exits[1]).toContain('it keeps failing (something outside it keeps stopping it: the kernel\'s out-of-memory killer (see `dmesg`), or a person or supervisor sending signals)');
    } finally {
      await workers.stop();
    }
  });

  it('restarts a worker that exits with code 0 unasked, and starts again from the first wait after a worker has run a while', async () => {
    // Runs 1 and 2 exit at once with code 1, run 3 runs 2 s (past stableAfterMs) and exits 0, the rest exit at once.
    const runsFile = path.join(mkdtempSync(path.join(tmpdir(), 'sift-runs-')), 'runs');
    const script = `const fs = require('fs'); const n = (fs.existsSync(process.env.RUNS_FILE) ? Number(fs.readFileSync(process.env.RUNS_FILE, 'utf8')) : 0) + 1;
      fs.writeFileSync(process.env.RUNS_FILE, String(n)); if (n === 3) setTimeout(() => process.exit(0), 2000); else process.exit(1);`;
    const { lines, workers } = supervise(1, script, { initialRestartDelayMs: 100, maxRestartDelayMs: 10_000, stableAfterMs: 1500 }, { RUNS_FILE: runsFile });
    try {
      await eventually(async () => exitLines(lines).length >= 5, 20_000, 'five exits');
      const exits = exitLines(lines);
      expect(exits.map((line) => /\((code \d+)\)/.exec(line)?.[1]).slice(0, 5)).toEqual(['code 1', 'code 1', 'code 0', 'code 1', 'code 1']);
      expect(announcedDelays(lines).slice(0, 5)).toEqual([100, 200, 100, 200, 400]);
    } finally {
      await workers.stop();
    }
  });

  it('stop() during a pending restart cancels it, stops the live workers, and starts none after', async () => {
    // Of the two workers, the first to create the flag file stays, and takes 1.5 s to stop on
    // SIGTERM, longer than the pending restart of the other, which exits at once.
    const flag = path.join(mkdtempSync(path.join(tmpdir(), 'sift-flag-')), 'stayer');
    const script = `const fs = require('fs'); try { fs.openSync(process.env.FLAG, 'wx'); } catch { process.exit(3); }
      process.on('SIGTERM', () => setTimeout(() => process.exit(0), 1500)); setInterval(() => {}, 1000);`;
    let stopping: Promise<void> | undefined;
    const supervised = supervise(2, script, { initialRestartDelayMs: 300, maxRestartDelayMs: 300 }, { FLAG: flag }, (line) => {
      // Stop in the very turn the restart is scheduled, so it is surely pending.
      if (line.includes('restarting it in')) stopping ??= supervised.workers.stop();
    });
    const { lines, marker } = supervised;
    await eventually(async () => stopping !== undefined, 20_000, 'a worker to exit');
    const bothPids = /pids (\d+), (\d+)/.exec(lines.find((line) => line.includes('started 2 worker'))!)!.slice(1).map(Number);
    expect(liveChildren(marker)).toHaveLength(1); // the stayer, still finishing
    await stopping;
    expect(liveChildren(marker)).toEqual([]);
    expect(bothPids.filter(isAlive)).toEqual([]);
    await sleep(1000); // well past the cancelled restart
    expect(liveChildren(marker)).toEqual([]);
    expect(restartLines(lines)).toEqual([]);
    expect(exitLines(lines)).toHaveLength(1); // the stayer's exit on SIGTERM is no surprise
    await supervised.workers.stop(); // a second stop is harmless
  });

  it('refuses waits that would let a failing worker spin', () => {
    const logger = createLogger('silent');
    expect(() => startWorkerProcesses(1, {}, logger, { initialRestartDelayMs: 0 })).toThrow(/initialRestartDelayMs must be a positive number/);
    expect(() => startWorkerProcesses(1, {}, logger, { maxRestartDelayMs: 500 })).toThrow(/maxRestartDelayMs \(500\) is less than initialRestartDelayMs \(1000\)/);
  });
});
