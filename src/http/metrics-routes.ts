import { Router } from 'express';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MicroBatcherStats } from '../models/micro-batcher';

/**
 * `/metrics`: the event-loop delay of this process and how the micro-batcher is batching, as JSON.
 * `POST /metrics/reset` starts a new measuring window (the benchmark uses it around each run).
 */
export function metricsRoutes(batcherStats: () => MicroBatcherStats): { router: Router; stop(): void } {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let base: MicroBatcherStats = { runs: 0, rows: 0, meanBatchSize: 0 };
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const router = Router();
  router.get('/metrics', (_req, res) => {
    const now = batcherStats();
    const runs = now.runs - base.runs;
    const rows = now.rows - base.rows;
    res.json({
      eventLoopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      microBatcher: { runs, rows, meanBatchSize: runs === 0 ? 0 : rows / runs },
      memory: { rssBytes: process.memoryUsage().rss },
    });
  });
  router.post('/metrics/reset', (_req, res) => {
    delay.reset();
    base = batcherStats();
    res.status(204).end();
  });
  return { router, stop: () => delay.disable() };
}
