import { Counter, Gauge } from 'prom-client';
import type { MetricsRegistry } from './registry';

/** Which limit refused an upload: SIFT_MAX_UPLOADS_PER_KEY (`key`) or SIFT_MAX_UPLOADS (`server`). */
export type UploadLimit = 'key' | 'server';

/**
 * The uploads an API process reads (see upload-slots.ts):
 * - `sift_uploads_in_progress`: `POST /batches` bodies being read now (at most SIFT_MAX_UPLOADS);
 * - `sift_uploads_refused_total{limit}`: uploads refused TOO_MANY_UPLOADS, by the limit they met.
 * A process at its limit for long, while uploads are refused, is what a key that sends slowly
 * looks like (the API also logs who holds the slots).
 */
export class UploadMetrics {
  private readonly families: { inProgress: Gauge; refusals: Counter<'limit'> } | null;

  constructor(registry: MetricsRegistry) {
    this.families = registry && {
      inProgress: new Gauge({ name: 'sift_uploads_in_progress', help: 'Uploads (POST /batches) this API process is reading now.', registers: [registry] }),
      refusals: new Counter({ name: 'sift_uploads_refused_total', help: 'Uploads refused TOO_MANY_UPLOADS, by the limit they met (key: SIFT_MAX_UPLOADS_PER_KEY, server: SIFT_MAX_UPLOADS).', labelNames: ['limit'], registers: [registry] }),
    };
    // Both limits from 0, so a rate over them starts at the first refusal.
    for (const limit of ['key', 'server'] as const) this.families?.refusals.labels(limit).inc(0);
  }

  started(): void {
    this.families?.inProgress.inc();
  }

  ended(): void {
    this.families?.inProgress.dec();
  }

  refused(limit: UploadLimit): void {
    this.families?.refusals.labels(limit).inc();
  }
}
