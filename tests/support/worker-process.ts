import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from './paths';
import { TEST_REDIS_URL } from './redis';

/** A real worker process (`node dist/workers/worker.js`) started by a test. */
export interface WorkerProcess {
  /** Everything it logged so far. */
  output(): string;
  /** Its exit code, null while it runs (or when a signal ended it). */
  exitCode(): number | null;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Sends a signal without waiting. */
  signal(signal: NodeJS.Signals): void;
  /** Its exit code once it has exited (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Freezes it (SIGSTOP): it holds its chunks and does nothing until `resume`. */
  pause(): void;
  /** Lets a paused worker go on (SIGCONT). */
  resume(): void;
}

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
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    signal: (signal) => void child.kill(signal),
    exited,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
  };
}
