import { Router } from 'express';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { RunStats } from '../models/run-gatherer';

/**
 * `/metrics`: the event-loop delay of this process and how texts are gathered into model runs, as JSON.
 * `POST /metrics/reset` starts a new measuring window (the benchmark uses it around each run).
 */
export function metricsRoutes(runStats: () => RunStats): { router: Router; stop(): void } {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let base: RunStats = { runs: 0, rows: 0, meanRunSize: 0 };
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const router = Router();
  router.get('/metrics', (_req, res) => {
    const now = runStats();
    const runs = now.runs - base.runs;
    const rows = now.rows - base.rows;
    res.json({
      eventLoopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      modelRuns: { runs, rows, meanRunSize: runs === 0 ? 0 : rows / runs },
      memory: { rssBytes: process.memoryUsage().rss },
    });
  });
  router.post('/metrics/reset', (_req, res) => {
    delay.reset();
    base = runStats();
    res.status(204).end();
  });
  return { router, stop: () => delay.disable() };
}
