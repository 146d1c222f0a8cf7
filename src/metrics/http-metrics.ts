import { Counter, Histogram } from 'prom-client';
import type { MetricsRegistry } from './registry';

/** GraphQL operations, from a millisecond (`__typename`) to the seconds a `predictMany` of 1,000 new texts can take. */
export const OPERATION_SECONDS_BUCKETS: readonly number[] = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/** How a GraphQL operation ended: `ok`, or `error` when the answer carried errors. */
export type OperationOutcome = 'ok' | 'error';

/**
 * The API's HTTP answers and GraphQL operations:
 * - `sift_http_requests_total{route,status}`: responses sent, by route (a fixed set, see
 *   http/http-metrics-middleware.ts, never the raw path) and HTTP status;
 * - `sift_graphql_operations_total{operation,outcome}`: GraphQL operations over HTTP by operation
 *   name (Sift's own operations by name, any other `other`) and outcome;
 * - `sift_graphql_operation_duration_seconds{operation}`: how long each took, from the request's
 *   arrival at Apollo to its answer.
 * Callers pass only bounded label values.
 */
export class HttpMetrics {
  private readonly families: { requests: Counter<'route' | 'status'>; operations: Counter<'operation' | 'outcome'>; seconds: Histogram<'operation'> } | null;
  private readonly responses = new Map<string, Counter.Internal>();
  private readonly byOperation = new Map<string, { ok: Counter.Internal; error: Counter.Internal; seconds: { observe(value: number): void } }>();

  constructor(registry: MetricsRegistry) {
    this.families = registry && {
      requests: new Counter({ name: 'sift_http_requests_total', help: 'HTTP responses sent, by route and status.', labelNames: ['route', 'status'], registers: [registry] }),
      operations: new Counter({ name: 'sift_graphql_operations_total', help: 'GraphQL operations over HTTP, by operation (Sift\'s own by name, any other "other") and outcome (ok, error).', labelNames: ['operation', 'outcome'], registers: [registry] }),
      seconds: new Histogram({ name: 'sift_graphql_operation_duration_seconds', help: 'How long a GraphQL operation over HTTP took, by operation.', labelNames: ['operation'], buckets: [...OPERATION_SECONDS_BUCKETS], registers: [registry] }),
    };
  }

  /** Whether anything is counted (false with SIFT_METRICS=off): callers can skip their own work. */
  get enabled(): boolean {
    return this.families !== null;
  }

  /** A response sent on `route` with `status`. */
  responded(route: string, status: number): void {
    if (!this.families) return;
    const key = `${route} ${status}`;
    let counter = this.responses.get(key);
    if (!counter) {
      counter = this.families.requests.labels(route, String(status));
      this.responses.set(key, counter);
    }
    counter.inc();
  }

  /** A GraphQL operation that took `seconds` and ended with `outcome`. */
  operation(operation: string, outcome: OperationOutcome, seconds: number): void {
    if (!this.families) return;
    let counters = this.byOperation.get(operation);
    if (!counters) {
      const { operations, seconds: histogram } = this.families;
      counters = { ok: operations.labels(operation, 'ok'), error: operations.labels(operation, 'error'), seconds: histogram.labels(operation) };
      this.byOperation.set(operation, counters);
    }
    counters[outcome].inc();
    counters.seconds.observe(seconds);
  }
}
