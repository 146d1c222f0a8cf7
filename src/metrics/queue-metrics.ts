import { Gauge } from 'prom-client';
import type { MetricsRegistry } from './registry';

/** The chunk queue's states `sift_queue_jobs` reports. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** What a sample reads: bee-queue's `checkHealth()`. */
export interface QueueHealth {
  checkHealth(): Promise<Record<QueueState, number>>;
}

/**
 * `sift_queue_jobs{state}`: chunk jobs in the queue by state, as of the last sample. The API
 * samples (one bee-queue `checkHealth`, four counts in one MULTI) every `intervalMs`, not per
 * scrape, so scrapers cost Redis nothing. While Redis does not answer the series are dropped
 * (absent, not stale figures), and come back with the next sample that succeeds.
 */
export class QueueMetrics {
  private readonly jobs: Gauge<'state'> | null;

  constructor(registry: MetricsRegistry) {
    this.jobs = registry && new Gauge({ name: 'sift_queue_jobs', help: 'Chunk jobs in the queue by state (waiting, active, delayed, failed), sampled on an interval.', labelNames: ['state'], registers: [registry] });
  }

  /** Samples `queue` now and then every `intervalMs`, one sample at a time, until the returned stop is called. */
  sample(queue: QueueHealth, intervalMs: number): () => void {
    const jobs = this.jobs;
    if (!jobs) return () => undefined;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const once = async () => {
      try {
        const counts = await queue.checkHealth();
        if (!stopped) for (const state of QUEUE_STATES) jobs.labels(state).set(counts[state]);
      } catch {
        jobs.reset();
      }
      if (!stopped) {
        timer = setTimeout(() => void once(), intervalMs);
        timer.unref();
      }
    };
    void once();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }
}
