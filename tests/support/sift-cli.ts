import { spawn } from 'node:child_process';
import path from 'node:path';
import { eventually } from './api';
import { PROJECT_ROOT } from './paths';

const SIFT = path.join(PROJECT_ROOT, 'dist/src/cli/sift.js');

/** How a `sift` run ended. */
export interface SiftRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real `sift` executable running (no TTY: stdin, stdout and stderr are pipes), watched as it goes. */
export interface RunningSift {
  /** What it printed on stderr so far. */
  stderr(): string;
  /** Waits until stderr matches `pattern`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when it exits. */
  exited: Promise<SiftRun>;
  /** Sends it a signal, as a terminal or a supervisor would. */
  kill(signal: NodeJS.Signals): void;
}

export function startSift(args: string[], env: Record<string, string> = {}): RunningSift {
  // No worker metrics ports unless a test asks for them (`sift up` and `sift worker` side by side would fight over 9464).
  const child = spawn(process.execPath, [SIFT, ...args], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, SIFT_METRICS_PORT: '0', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end('');
  const exited = new Promise<SiftRun>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return {
    stderr: () => stderr,
    waitForStderr: async (pattern, timeoutMs = 30_000) => {
      try {
        await eventually(async () => pattern.test(stderr) || child.exitCode !== null, timeoutMs, `sift to print ${pattern}`);
      } catch {
        throw new Error(`sift did not print ${pattern} within ${timeoutMs} ms; stderr:\n${stderr}`);
      }
      if (!pattern.test(stderr)) throw new Error(`sift exited (${child.exitCode}) before printing ${pattern}; stderr:\n${stderr}\nstdout:\n${stdout}`);
    },
    exited,
    kill: (signal) => void child.kill(signal),
  };
}
