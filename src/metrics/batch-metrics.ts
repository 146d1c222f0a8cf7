import { Counter } from 'prom-client';
import type { BatchEvents, EndedBatchEvent, SubmittedBatchEvent } from '../batches/batch-events';
import type { MetricsRegistry } from './registry';

/** What `sift_batches_total` counts. */
export const BATCH_STATUSES = ['submitted', 'completed', 'failed', 'cancelled'] as const;
export type BatchCountedStatus = (typeof BATCH_STATUSES)[number];

/** A counted chunk's rows, as its batch record counts them (`cached` is a part of `succeeded`). */
export interface CountedRows {
  succeeded: number;
  failed: number;
  cached: number;
}

/**
 * Batches and their rows, each counted once across every process (so a sum over the processes is
 * the deployment's figure):
 * - `sift_batches_total{status}`: `submitted` by the API that read the input to the end, then
 *   `completed`, `failed` or `cancelled` by the process that ended the batch (BatchEvents);
 * - `sift_batch_rows_total{model,outcome}`: rows as their chunk is counted (on the worker that
 *   counted it, once even when a chunk runs twice): `succeeded` labelled by the model, `cached`
 *   labelled from the cache, `failed` not labelled (the row's reason is in the results). The
 *   three are apart, so their sum is the rows counted, and `succeeded` + `cached` is what the
 *   batch record calls succeeded.
 */
export class BatchMetrics {
  private readonly families: { batches: Counter<'status'>; rows: Counter<'model' | 'outcome'> } | null;
  private readonly byModel = new Map<string, Record<'succeeded' | 'failed' | 'cached', Counter.Internal>>();

  constructor(registry: MetricsRegistry) {
    this.families = registry && {
      batches: new Counter({ name: 'sift_batches_total', help: 'Batches submitted, and ended by status (completed, failed, cancelled).', labelNames: ['status'], registers: [registry] }),
      rows: new Counter({ name: 'sift_batch_rows_total', help: 'Batch rows counted, by model and outcome (succeeded: by the model, cached: from the cache, failed).', labelNames: ['model', 'outcome'], registers: [registry] }),
    };
    // Every status from 0, so the first batch of each shows as an increase.
    if (this.families) for (const status of BATCH_STATUSES) this.families.batches.labels(status).inc(0);
  }

  /** Counts the batches `events` says were submitted and ended in this process; returns how to stop. */
  listen(events: BatchEvents): () => void {
    const families = this.families;
    if (!families) return () => undefined;
    const submitted = (_batch: SubmittedBatchEvent) => families.batches.labels('submitted').inc();
    const ended = ({ status }: EndedBatchEvent) => families.batches.labels(status.toLowerCase() as BatchCountedStatus).inc();
    events.on('submitted', submitted);
    events.on('ended', ended);
    return () => {
      events.off('submitted', submitted);
      events.off('ended', ended);
    };
  }

  /** The rows of a chunk of a `model` batch that were just counted (once: the store said `counted`). */
  chunkCounted(model: string, rows: CountedRows): void {
    if (!this.families) return;
    let counters = this.byModel.get(model);
    if (!counters) {
      const { rows: family } = this.families;
      counters = { succeeded: family.labels(model, 'succeeded'), failed: family.labels(model, 'failed'), cached: family.labels(model, 'cached') };
      this.byModel.set(model, counters);
    }
    const byModel = rows.succeeded - rows.cached;
    if (byModel > 0) counters.succeeded.inc(byModel);
    if (rows.cached > 0) counters.cached.inc(rows.cached);
    if (rows.failed > 0) counters.failed.inc(rows.failed);
  }
}
