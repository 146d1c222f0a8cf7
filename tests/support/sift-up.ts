import { spawn } from 'node:child_process';
import path from 'node:path';
import { eventually } from './api';
import { PROJECT_ROOT } from './paths';
import { TEST_REDIS_URL } from './redis';

/** `sift up` (what `npm start` runs) in a process of its own, with its output readable while it runs. */
export interface SiftUp {
  pid: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Waits until the output matches `pattern` and returns the match. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM, then the exit code and the whole output. */
  stop(): Promise<{ code: number | null; output: string }>;
  /** Ends it at once (SIGKILL), as a crash or an OOM kill would, and waits for it to be gone. */
  kill(): Promise<void>;
}

export function startSiftUp(env: Record<string, string>): SiftUp {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/src/cli/sift.js'), 'up'], {
    // No worker metrics ports unless a test asks for them: tests running side by side would fight over 9464.
    env: { PATH: process.env.PATH, REDIS_URL: TEST_REDIS_URL, HOST: '127.0.0.1', SIFT_METRICS_PORT: '0', ...env },
    cwd: PROJECT_ROOT,
  });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => child.on('exit', (code) => resolve({ code, output })));
  return {
    pid: child.pid!,
    output: () => output,
    waitFor: async (pattern, timeoutMs = 20_000) => {
      let match: RegExpExecArray | null = null;
      try {
        await eventually(async () => (match = pattern.exec(output)) !== null, timeoutMs, `sift up to print ${pattern}`);
      } catch {
        throw new Error(`sift up did not print ${pattern} within ${timeoutMs} ms; it printed:\n${output}`);
      }
      return match!;
    },
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
