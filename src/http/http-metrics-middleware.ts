import type { RequestHandler } from 'express';
import type { HttpMetrics } from '../metrics/http-metrics';

/**
 * The `route` label of `sift_http_requests_total`: the API's routes as patterns, a fixed set, so
 * no request (a random path, a batch id, a probe) can add a label value. `/` and `/assets/:file`
 * are the web page; anything else is `other` (nearly always a 404).
 */
export const HTTP_ROUTE_LABELS = ['/graphql', '/batches', '/batches/:id', '/batches/:id/results.:format', '/healthz', '/readyz', '/metrics', '/', '/assets/:file', 'other'] as const;
export type HttpRouteLabel = (typeof HTTP_ROUTE_LABELS)[number];

const EXACT: ReadonlyMap<string, HttpRouteLabel> = new Map<string, HttpRouteLabel>([
  ['/graphql', '/graphql'],
  ['/batches', '/batches'],
  ['/healthz', '/healthz'],
  ['/readyz', '/readyz'],
  ['/metrics', '/metrics'],
  ['/', '/'],
  ['/index.html', '/'],
]);
const BATCH = /^\/batches\/[^/]+$/;
const BATCH_RESULTS = /^\/batches\/[^/]+\/results\.[^/]+$/;
const ASSET = /^\/assets\/[^/]+$/;

/** The route label of a request path (without its query string). */
export function routeLabel(path: string): HttpRouteLabel {
  const exact = EXACT.get(path);
  if (exact) return exact;
  if (BATCH.test(path)) return '/batches/:id';
  if (BATCH_RESULTS.test(path)) return '/batches/:id/results.:format';
  if (ASSET.test(path)) return '/assets/:file';
  return 'other';
}

/**
 * Counts every response the API sends once it is sent (`finish`), by route and status. Goes first,
 * before the Host check and every route, so refusals are counted too; a request whose client went
 * away before the answer was sent is not a response and is not counted.
 */
export function httpMetricsMiddleware(metrics: HttpMetrics): RequestHandler {
  return (req, res, next) => {
    if (metrics.enabled) {
      res.once('finish', () => {
        const url = req.originalUrl;
        const query = url.indexOf('?');
        metrics.responded(routeLabel(query === -1 ? url : url.slice(0, query)), res.statusCode);
      });
    }
    next();
  };
}
