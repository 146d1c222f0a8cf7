import { Gauge } from 'prom-client';
import type { MetricsRegistry } from './registry';

/** The chunk queue's states `sift_queue_jobs` reports. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** What a sample reads: bee-queue's `checkHealth()`. */
export interface QueueHealth {
  checkHealth(): Promise<Record<QueueState, number>>;
}

/** What a sample reads of the chunk schedule: chunks not handed to the queue yet, by priority. */
export interface ScheduleBacklog {
  waiting(): Promise<Record<string, number>>;
}

/**
 * `sift_queue_jobs{state}`: chunk jobs in the queue by state, as of the last sample. The API
 * samples (one bee-queue `checkHealth`, four counts in one MULTI) every `intervalMs`, not per
 * scrape, so scrapers cost Redis nothing. While Redis does not answer the series are dropped
 * (absent, not stale figures), and come back with the next sample that succeeds.
 * `sift_schedule_chunks{priority}`, sampled with it: chunks still waiting in the schedule, which
 * hands the queue only a few at a time (see chunk-schedule.ts), so the backlog is this, not the
 * queue's waiting jobs.
 */
export class QueueMetrics {
  private readonly jobs: Gauge<'state'> | null;
  private readonly scheduled: Gauge<'priority'> | null;

  constructor(registry: MetricsRegistry) {
    this.jobs = registry && new Gauge({ name: 'sift_queue_jobs', help: 'Chunk jobs in the queue by state (waiting, active, delayed, failed), sampled on an interval.', labelNames: ['state'], registers: [registry] });
    this.scheduled =
      registry && new Gauge({ name: 'sift_schedule_chunks', help: 'Chunks stored but not handed to the queue yet, by batch priority (HIGH, NORMAL, LOW), sampled on an interval.', labelNames: ['priority'], registers: [registry] });
  }

  /** Samples `queue` and `schedule` now and then every `intervalMs`, one sample at a time, until the returned stop is called. */
  sample(queue: QueueHealth, schedule: ScheduleBacklog, intervalMs: number): () => void {
    const jobs = this.jobs;
    const scheduled = this.scheduled;
    if (!jobs || !scheduled) return () => undefined;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const once = async () => {
      try {
        const [counts, waiting] = await Promise.all([queue.checkHealth(), schedule.waiting()]);
        if (!stopped) {
          for (const state of QUEUE_STATES) jobs.labels(state).set(counts[state]);
          for (const [priority, chunks] of Object.entries(waiting)) scheduled.labels(priority).set(chunks);
        }
      } catch {
        jobs.reset();
        scheduled.reset();
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
