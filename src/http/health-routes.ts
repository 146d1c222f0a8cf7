import { Router } from 'express';

/** What `/readyz` asks: each check answers `ok` or says what is wrong. */
export type ReadinessCheck = () => Promise<{ ok: boolean; detail: string }>;

/**
 * `/healthz`: the process is alive (for restarts). `/readyz`: it can do its job, i.e. every check
 * passes (for load balancers). Both answer JSON.
 */
export function healthRoutes(checks: Record<string, ReadinessCheck>): Router {
  const router = Router();
  const startedAt = Date.now();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) });
  });
  router.get('/readyz', async (_req, res) => {
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((name) => checks[name]().catch((error: Error) => ({ ok: false, detail: error.message }))));
    const ready = results.every((r) => r.ok);
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not ready',
      checks: Object.fromEntries(names.map((name, i) => [name, results[i]])),
    });
  });
  return router;
}
