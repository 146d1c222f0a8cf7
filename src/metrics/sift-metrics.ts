import type { Registry } from 'prom-client';
import { BatchMetrics } from './batch-metrics';
import { CacheMetrics } from './cache-metrics';
import { HttpMetrics } from './http-metrics';
import { ModelMetrics } from './model-metrics';
import { QueueMetrics } from './queue-metrics';
import { createRegistry } from './registry';
import { SocketMetrics } from './socket-metrics';
import { UploadMetrics } from './upload-metrics';

/**
 * One process's metrics: its registry (null with `SIFT_METRICS=off`) and a recorder per concept,
 * each a no-op when the registry is null. Built once per process by the composition root
 * (openSharedParts) and handed to the parts that count; every family is registered whether or
 * not this process's role uses it, so an API and a worker export the same families (a worker's
 * HTTP and socket families stay at 0, and only the API samples the queue).
 */
export class SiftMetrics {
  readonly registry: Registry | null;
  readonly http: HttpMetrics;
  readonly sockets: SocketMetrics;
  readonly cache: CacheMetrics;
  readonly models: ModelMetrics;
  readonly batches: BatchMetrics;
  readonly queue: QueueMetrics;
  readonly uploads: UploadMetrics;

  constructor(enabled: boolean) {
    this.registry = createRegistry(enabled);
    this.http = new HttpMetrics(this.registry);
    this.sockets = new SocketMetrics(this.registry);
    this.cache = new CacheMetrics(this.registry);
    this.models = new ModelMetrics(this.registry);
    this.batches = new BatchMetrics(this.registry);
    this.queue = new QueueMetrics(this.registry);
    this.uploads = new UploadMetrics(this.registry);
  }
}
