/**
 * Where the metrics are served, and who may read them: the API's /metrics with keys on, with
 * SIFT_METRICS=off, a worker's metrics port (its own, busy, off, under `sift up`) and its /healthz.
 */
import { createServer, type Server } from 'node:net';
import { PredictDocument } from '../../src/client/generated/graphql';
import { ErrorCodes } from '../../src/errors';
import { startWorkerMetricsServer } from '../../src/http/worker-metrics-server';
import { SiftMetrics } from '../../src/metrics/sift-metrics';
import { createTestKey, freePort, freePorts, startTestApi } from '../support/api';
import { scrape, sampleSum } from '../support/prometheus';
import { uniquePrefix } from '../support/redis';
import { startSiftUp } from '../support/sift-up';
import { tinyModelsDir } from '../support/tiny-models';
import { startTestWorker } from '../support/worker';
import { startWorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };

async function listen(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

describe("the API's /metrics", () => {
  it('needs a key with the admin scope when auth is on', async () => {
    const t = await startTestApi({ ...shared, SIFT_AUTH: 'keys' });
    try {
      expect((await fetch(`${t.api.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${t.api.url}/metrics`, { headers: t.headers })).status).toBe(403);
      const admin = await createTestKey(t.prefix, 'prometheus', ['admin']);
      const exposition = await scrape(`${t.api.url}/metrics`, { authorization: `Bearer ${admin}` });
      // The refusals were answered and counted, on the route's label.
      expect(sampleSum(exposition, 'sift_http_requests_total', { route: '/metrics', status: '401' })).toBe(1);
      expect(sampleSum(exposition, 'sift_http_requests_total', { route: '/metrics', status: '403' })).toBe(1);
    } finally {
      await t.stop();
    }
  });

  it('answers 404 NOT_FOUND with SIFT_METRICS=off, saying so, and the API works as ever', async () => {
    const t = await startTestApi({ ...shared, SIFT_METRICS: 'off' });
    try {
      const response = await fetch(`${t.api.url}/metrics`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: { code: ErrorCodes.NOT_FOUND, message: expect.stringContaining('SIFT_METRICS=off') } });
      expect((await t.client.request(PredictDocument, { text: 'a warm day' })).predict.label).toEqual(expect.any(String));
    } finally {
      await t.stop();
    }
  });
});

describe("a worker's metrics port", () => {
  it('serves /healthz but no /metrics with SIFT_METRICS=off, and nothing at all with SIFT_METRICS_PORT=0', async () => {
    const port = await freePort();
    const off = await startTestWorker({ ...shared, SIFT_KEY_PREFIX: uniquePrefix('metrics-off'), SIFT_METRICS: 'off', SIFT_METRICS_PORT: String(port) });
    try {
      expect(off.worker.metricsServer?.port).toBe(port);
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(metrics.status).toBe(404);
      expect(((await metrics.json()) as { error: { message: string } }).error.message).toContain('SIFT_METRICS=off');
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      await off.stop();
    }
    // Closed with the worker.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    const none = await startTestWorker({ ...shared, SIFT_KEY_PREFIX: uniquePrefix('metrics-none'), SIFT_METRICS_PORT: '0' });
    try {
      expect(none.worker.metricsServer).toBeNull();
    } finally {
      await none.stop();
    }
  });

  it('stops a worker from starting when its port is taken, saying which setting to change', async () => {
    const port = await freePort();
    const taken = await listen(port);
    try {
      const error = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: uniquePrefix('metrics-busy'), SIFT_METRICS_PORT: String(port) }).then(
        () => new Error('expected the worker to fail'),
        (e: Error) => e,
      );
      expect(error.message).toContain('worker exited at start');
      expect(error.message).toContain(`Port ${port} on 127.0.0.1 (SIFT_METRICS_PORT`);
      expect(error.message).toContain('SIFT_METRICS_PORT=0');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('answers /healthz 503 when a check fails or does not answer, naming it', async () => {
    const server = await startWorkerMetricsServer(
      { metrics: new SiftMetrics(true), checks: { consumer: async () => ({ ok: true, detail: 'fine' }), redis: () => new Promise(() => undefined) }, checkTimeoutMs: 200 },
      0,
      '127.0.0.1',
    );
    try {
      const response = await fetch(`${server.url}/healthz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'unhealthy', checks: { consumer: { ok: true, detail: 'fine' }, redis: { ok: false, detail: 'no answer within 200 ms' } } });
      expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(404);
      await scrape(`${server.url}/metrics`);
    } finally {
      await server.close();
    }
  });

  it('under `sift up`, gives worker i SIFT_METRICS_PORT + i', async () => {
    const base = await freePorts(2);
    const port = await freePort();
    const up = startSiftUp({ ...shared, PORT: String(port), SIFT_WORKERS: '2', SIFT_METRICS_PORT: String(base), SIFT_KEY_PREFIX: uniquePrefix('metrics-up') });
    try {
      await up.waitFor(new RegExp(`their /metrics and /healthz on ports ${base} to ${base + 1} \\(SIFT_METRICS_PORT\\)`));
      for (const p of [base, base + 1]) {
        await up.waitFor(new RegExp(`/metrics and /healthz at http://127\\.0\\.0\\.1:${p}`), 30_000);
        expect([p, (await fetch(`http://127.0.0.1:${p}/healthz`)).status]).toEqual([p, 200]);
        const exposition = await scrape(`http://127.0.0.1:${p}/metrics`);
        expect(exposition.has('sift_batch_rows_total')).toBe(true);
      }
    } finally {
      const { code } = await up.stop();
      expect(code).toBe(0);
    }
  });
});
