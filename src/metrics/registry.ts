import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * One process's metrics registry, or null when `SIFT_METRICS=off`: then every recorder built on
 * it does nothing, and no default metric (event-loop monitor, GC observer) is started.
 *
 * A registry per process, built by the composition root, never prom-client's global one: a test
 * that runs an API and a worker in one Node process gets two registries that count apart.
 */
export type MetricsRegistry = Registry | null;

/** A registry with prom-client's default process and Node.js metrics (RSS, CPU, event-loop lag, GC, heap, handles). */
export function createRegistry(enabled: boolean): MetricsRegistry {
  if (!enabled) return null;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The registry's families as the Prometheus text format (version 0.0.4) and its Content-Type. */
export async function exposition(registry: Registry): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
