import { Router } from 'express';
import { ErrorCodes } from '../errors';
import { exposition } from '../metrics/registry';
import type { SiftMetrics } from '../metrics/sift-metrics';

/**
 * `GET /metrics`: this process's metrics in the Prometheus text format (version 0.0.4), for
 * Prometheus to scrape: the families of src/metrics/families.ts and prom-client's default process
 * and Node.js metrics. Counters only grow from the process's start (a period's figures are the
 * difference of two readings, what `rate()` does), and reading changes none of them; prom-client's
 * event-loop lag figures (`nodejs_eventloop_lag_*`) are the exception: each covers the time since
 * the previous read. With SIFT_METRICS=off it answers 404 NOT_FOUND, saying so.
 */
export function metricsRoutes(metrics: SiftMetrics): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    if (!metrics.registry) {
      res.status(404).json({ error: { code: ErrorCodes.NOT_FOUND, message: 'This server collects no metrics (SIFT_METRICS=off).' } });
      return;
    }
    const { contentType, body } = await exposition(metrics.registry);
    res.set('cache-control', 'no-store').type(contentType).send(body);
  });
  return router;
}
