import { Router } from 'express';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { RunStats } from '../models/run-gatherer';

/** How long one window of event-loop delay measures: `/metrics` reports the last full one. */
export const DELAY_WINDOW_MS = 60_000;

interface DelayWindow {
  p50: number;
  p99: number;
  max: number;
}

/**
 * `GET /metrics`: this process's event-loop delay, how texts were gathered into model runs, and
 * its memory, as JSON. Nothing resets it (no client changes what another reads):
 * - `eventLoopDelayMs`: p50, p99 and max over the last full window of `windowSeconds` (60 s),
 *   or over the time since start while the process is younger than one window;
 * - `modelRuns`: runs and texts (`rows`) since the process started, counters that only grow, so a
 *   reader who wants a period's figures takes two readings and subtracts (the benchmark does).
 */
export function metricsRoutes(runStats: () => RunStats, windowMs: number = DELAY_WINDOW_MS): { router: Router; stop(): void } {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const read = (): DelayWindow => ({ p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) });
  let lastWindow: DelayWindow | null = null;
  const rotate = setInterval(() => {
    lastWindow = read();
    delay.reset();
  }, windowMs);
  rotate.unref();
  const router = Router();
  router.get('/metrics', (_req, res) => {
    const { runs, rows } = runStats();
    res.json({
      eventLoopDelayMs: { windowSeconds: windowMs / 1000, ...(lastWindow ?? read()) },
      modelRuns: { runs, rows, meanRunSize: runs === 0 ? 0 : rows / runs },
      memory: { rssBytes: process.memoryUsage().rss },
    });
  });
  return {
    router,
    stop: () => {
      clearInterval(rotate);
      delay.disable();
    },
  };
}
