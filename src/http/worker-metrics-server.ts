import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCodes, setupError } from '../errors';
import { exposition } from '../metrics/registry';
import type { SiftMetrics } from '../metrics/sift-metrics';
import { timeLimit } from '../time-limit';

/** One check `/healthz` runs: ok, or what is wrong. */
export type WorkerHealthCheck = () => Promise<{ ok: boolean; detail: string }>;

export interface WorkerMetricsServerOptions {
  metrics: SiftMetrics;
  /** `/healthz` answers 200 while every check passes, 503 otherwise (each check's result in the body). */
  checks: Record<string, WorkerHealthCheck>;
  /** A check that has not answered in this long has failed (a Redis that is away must not hang `/healthz`). */
  checkTimeoutMs?: number;
}

/** The worker's metrics and health server, listening. */
export interface WorkerMetricsServer {
  /** The port actually bound (also when asked for 0 in tests). */
  port: number;
  url: string;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function within(ms: number, check: WorkerHealthCheck): Promise<{ ok: boolean; detail: string }> {
  return timeLimit(
    check().catch((error: Error) => ({ ok: false, detail: error.message })),
    ms,
    () => ({ ok: false, detail: `no answer within ${ms} ms` }),
  );
}

/**
 * A worker serves no API: this small server on `SIFT_METRICS_PORT` is how Prometheus and a
 * container's health check reach it. `GET /metrics`: the worker's registry in the Prometheus text
 * format (404 with SIFT_METRICS=off). `GET /healthz`: 200 while the checks pass (the chunk
 * consumer runs, Redis answers), else 503. Anything else: a JSON 404. No key is asked for: it
 * listens on `SIFT_METRICS_HOST` (loopback unless set) and says nothing about any batch.
 */
export async function startWorkerMetricsServer(options: WorkerMetricsServerOptions, port: number, host: string): Promise<WorkerMetricsServer> {
  const { metrics, checks } = options;
  const timeoutMs = options.checkTimeoutMs ?? 1000;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (get && path === '/metrics' && metrics.registry) {
      const { contentType, body } = await exposition(metrics.registry);
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body);
    } else if (get && path === '/metrics') {
      json(res, 404, { error: { code: ErrorCodes.NOT_FOUND, message: 'This worker collects no metrics (SIFT_METRICS=off).' } });
    } else if (get && path === '/healthz') {
      const names = Object.keys(checks);
      const results = await Promise.all(names.map((name) => within(timeoutMs, checks[name])));
      const ok = results.every((result) => result.ok);
      json(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unhealthy', checks: Object.fromEntries(names.map((name, i) => [name, results[i]])) });
    } else {
      json(res, 404, { error: { code: ErrorCodes.NOT_FOUND, message: `Nothing here answers ${req.method} ${path.slice(0, 200)}. A worker answers GET /metrics and GET /healthz on this port.` } });
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // As the API answers an internal error: its message stays in this process.
      if (!res.headersSent) json(res, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(setupError(ErrorCodes.PORT_IN_USE, `Port ${port} on ${host} (SIFT_METRICS_PORT, this worker's /metrics and /healthz) is already in use, perhaps by another worker on this machine. Give each worker a SIFT_METRICS_PORT of its own, or set SIFT_METRICS_PORT=0 for none.`));
      } else if (error.code === 'EADDRNOTAVAIL') {
        reject(setupError(ErrorCodes.BAD_CONFIG, `SIFT_METRICS_HOST=${host} is not an address of this machine; set it to one of its addresses (127.0.0.1 for this machine only, 0.0.0.0 in a container).`));
      } else if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') {
        reject(setupError(ErrorCodes.BAD_CONFIG, `SIFT_METRICS_HOST=${host} is no name this machine can resolve (${error.code}); set it to one of its addresses (127.0.0.1 for this machine only, 0.0.0.0 in a container).`));
      } else reject(error);
    });
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    port: bound,
    url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
