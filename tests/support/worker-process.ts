import { spawn } from 'node:child_process';
import path from 'node:path';
import { checkBy } from './polling';
import { PROJECT_ROOT } from './paths';
import { TEST_REDIS_URL } from './redis';

/** A real worker process (`node dist/workers/worker.js`) started by a test. */
export interface WorkerProcess {
  /** Everything it logged so far. */
  output(): string;
  /** Its exit code, null while it runs (or when a signal ended it). */
  exitCode(): number | null;
  /** Sends a signal (a frozen worker is let go on to get it) and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Sends a signal without waiting. */
  signal(signal: NodeJS.Signals): void;
  /** Its exit code once it has exited (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Freezes it (SIGSTOP): it holds its chunks and does nothing until `resume`. */
  pause(): void;
  /** Lets a paused worker go on (SIGCONT). */
  resume(): void;
  /**
   * Runs it in short slices (SIGCONT, `sliceMs`, SIGSTOP) until `check` holds between two slices, and
   * returns with it frozen. A fault test strikes then, mid-batch by construction: on a fast or quiet
   * machine, a worker left running could finish the batch between a poll and the fault.
   */
  runUntil(check: () => Promise<boolean>, what: string, options?: { sliceMs?: number; timeoutMs?: number }): Promise<void>;
}

/** How long `stop` waits for the worker to exit before it kills it. */
const STOP_GRACE_MS = 20_000;

export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/workers/worker.js')], {
    cwd: PROJECT_ROOT,
    // No metrics port unless a test asks for one: workers of tests running side by side would fight over 9464.
    env: { PATH: process.env.PATH, REDIS_URL: TEST_REDIS_URL, SIFT_LOG_LEVEL: 'debug', SIFT_INFERENCE_THREADS: '1', SIFT_METRICS_PORT: '0', ...env },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (output.includes('worker ready')) return resolve();
      if (child.exitCode !== null) return reject(new Error(`worker exited at start:\n${output}`));
      setTimeout(check, 50);
    };
    check();
  });
  return {
    output: () => output,
    exitCode: () => child.exitCode,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        child.kill('SIGCONT'); // a frozen worker gets the signal only once it runs again
      }
      // A worker that ignores its stop is killed, and says so in its output, rather than hold the
      // test until Jest's timeout (which names nothing); its exit code is then null.
      const stuck = setTimeout(() => {
        output += `\n[test] no exit ${STOP_GRACE_MS / 1000} s after ${signal}: killed with SIGKILL\n`;
        child.kill('SIGKILL');
      }, STOP_GRACE_MS);
      try {
        return await exited;
      } finally {
        clearTimeout(stuck);
      }
    },
    signal: (signal) => void child.kill(signal),
    exited,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    runUntil: async (check, what, { sliceMs = 20, timeoutMs = 30_000 } = {}) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        child.kill('SIGSTOP');
        if (await checkBy(check, deadline, what)) return;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`worker exited while waiting for ${what}:\n${output}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        child.kill('SIGCONT');
        await new Promise((resolve) => setTimeout(resolve, sliceMs));
      }
    },
  };
}
