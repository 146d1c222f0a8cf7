import { startWorker, type RunningWorker } from '../../src/app/worker';
import type { ChunkJob } from '../../src/batches/batch-types';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/logger';
import { TEST_REDIS_URL } from './redis';

/** A worker built in this process from the composition root, with what its consumer reported. */
export interface TestWorker {
  worker: RunningWorker;
  /** Every chunk that will run again, in order, and when each failure was reported (ms). */
  retried: ChunkJob[];
  retriedAt: number[];
  /** Every chunk that failed for good. */
  failed: ChunkJob[];
  logs: string[];
  stop(): Promise<void>;
}

/** Starts a real worker (real Redis, real models) in the test's own process, to read its events. */
export async function startTestWorker(env: Record<string, string>): Promise<TestWorker> {
  const logs: string[] = [];
  // No metrics port unless a test asks for one: workers of tests running side by side would fight over 9464.
  const config = loadConfig({ REDIS_URL: TEST_REDIS_URL, SIFT_INFERENCE_THREADS: '1', SIFT_METRICS_PORT: '0', ...env });
  const worker = await startWorker(config, createLogger(config.logLevel, 'worker', (line) => logs.push(line), { role: 'worker', format: config.logFormat ?? undefined }));
  const retried: ChunkJob[] = [];
  const retriedAt: number[] = [];
  const failed: ChunkJob[] = [];
  worker.consumer.on('retrying', (job) => {
    retried.push(job);
    retriedAt.push(Date.now());
  });
  worker.consumer.on('failed', (job) => failed.push(job));
  return { worker, retried, retriedAt, failed, logs, stop: () => worker.close() };
}
