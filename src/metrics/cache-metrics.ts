import { Counter } from 'prom-client';
import type { MetricsRegistry } from './registry';

interface LookupCounters {
  hit: Counter.Internal;
  miss: Counter.Internal;
  error: Counter.Internal;
}

/**
 * `sift_cache_lookups_total{model,result}`: every text looked up in the shared prediction cache,
 * by model and by what the lookup found: `hit`, `miss`, or `error` (Redis failed or was too slow,
 * so the text went to the model as a miss would). One lookup per distinct text of a request or chunk.
 */
export class CacheMetrics {
  private readonly lookups: Counter<'model' | 'result'> | null;
  private readonly byModel = new Map<string, LookupCounters>();

  constructor(registry: MetricsRegistry) {
    this.lookups = registry && new Counter({ name: 'sift_cache_lookups_total', help: 'Texts looked up in the shared prediction cache, by model and result (hit, miss, error).', labelNames: ['model', 'result'], registers: [registry] });
  }

  /** A read that Redis answered: `hits` texts found, `misses` not. */
  answered(model: string, hits: number, misses: number): void {
    const counters = this.counters(model);
    if (!counters) return;
    if (hits > 0) counters.hit.inc(hits);
    if (misses > 0) counters.miss.inc(misses);
  }

  /** A read of `texts` texts that failed (they count as misses for the caller). */
  failed(model: string, texts: number): void {
    if (texts > 0) this.counters(model)?.error.inc(texts);
  }

  private counters(model: string): LookupCounters | undefined {
    if (!this.lookups) return undefined;
    let counters = this.byModel.get(model);
    if (!counters) {
      counters = { hit: this.lookups.labels(model, 'hit'), miss: this.lookups.labels(model, 'miss'), error: this.lookups.labels(model, 'error') };
      this.byModel.set(model, counters);
    }
    return counters;
  }
}
