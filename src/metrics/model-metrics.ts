import { Counter, Histogram } from 'prom-client';
import type { MetricsRegistry } from './registry';

/** Texts per model run: powers of two up to 16,384, the largest SIFT_MAX_RUN_SIZE. */
export const RUN_ROWS_BUCKETS: readonly number[] = Object.freeze(Array.from({ length: 15 }, (_, i) => 2 ** i));

/** One run of a model, from a fraction of a millisecond (a text on a tiny model) to seconds (a transformer). */
export const RUN_SECONDS_BUCKETS: readonly number[] = Object.freeze([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/** Something that runs texts through a model in one run (the API's inference threads, a worker's model). */
export type ModelRun<T> = (model: string, texts: string[]) => Promise<T>;

/**
 * The model runs of this process, in the API (online predictions, gathered into runs) and in each
 * worker (batch chunks):
 * - `sift_model_runs_total{model}`: runs;
 * - `sift_model_run_rows`: texts per run (a histogram; its `_sum` is texts run, its `_count` runs);
 * - `sift_model_run_duration_seconds{model}`: how long a run took, from the call to the scores.
 */
export class ModelMetrics {
  private readonly families: { runs: Counter<'model'>; rows: Histogram; seconds: Histogram<'model'> } | null;
  private readonly byModel = new Map<string, { runs: Counter.Internal; seconds: { observe(value: number): void } }>();

  constructor(registry: MetricsRegistry) {
    this.families = registry && {
      runs: new Counter({ name: 'sift_model_runs_total', help: 'Model runs, by model.', labelNames: ['model'], registers: [registry] }),
      rows: new Histogram({ name: 'sift_model_run_rows', help: 'Texts in one model run.', buckets: [...RUN_ROWS_BUCKETS], registers: [registry] }),
      seconds: new Histogram({ name: 'sift_model_run_duration_seconds', help: 'How long one model run took, by model.', labelNames: ['model'], buckets: [...RUN_SECONDS_BUCKETS], registers: [registry] }),
    };
  }

  /** One run of `rows` texts through `model` that took `seconds`. */
  ran(model: string, rows: number, seconds: number): void {
    if (!this.families) return;
    let counters = this.byModel.get(model);
    if (!counters) {
      counters = { runs: this.families.runs.labels(model), seconds: this.families.seconds.labels(model) };
      this.byModel.set(model, counters);
    }
    counters.runs.inc();
    counters.seconds.observe(seconds);
    this.families.rows.observe(rows);
  }

  /** `run`, counting each call that succeeds as one run (a failed run is not a run: its texts are tried again). */
  timed<T>(run: ModelRun<T>): ModelRun<T> {
    if (!this.families) return run;
    return async (model, texts) => {
      const started = performance.now();
      const result = await run(model, texts);
      this.ran(model, texts.length, (performance.now() - started) / 1000);
      return result;
    };
  }
}
