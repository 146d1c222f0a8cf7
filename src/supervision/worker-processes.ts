import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Logger } from '../logger';

/** Worker processes started by `npm start` beside the API. */
export interface WorkerProcesses {
  /** SIGTERM to each (they finish the chunks in hand), then waits for them to exit. */
  stop(): Promise<void>;
}

const WORKER_ENTRY = path.resolve(__dirname, '../../workers/worker.js');

/**
 * Starts `count` worker processes with this process's environment (plus `env`), their logs
 * going to this process's stderr. One that dies unexpectedly is reported, not restarted: the rest
 * keep going and its chunks run elsewhere.
 */
export function startWorkerProcesses(count: number, env: Record<string, string>, logger: Logger): WorkerProcesses {
  let stopping = false;
  const children: ChildProcess[] = Array.from({ length: count }, (_, i) => {
    const child = spawn(process.execPath, [WORKER_ENTRY], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code, signal) => {
      if (!stopping) logger.error(`worker ${i + 1} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); its chunks will run on the other workers`);
    });
    return child;
  });
  if (count > 0) logger.info(`started ${count} worker process(es); SIFT_WORKERS sets how many`);
  return {
    stop: async () => {
      stopping = true;
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
