import type { ModelKey, PredictionCache } from '../cache/prediction-cache';

/** The probabilities of one text and whether they came from the shared cache. */
export interface ScoredText {
  scores: ArrayLike<number>;
  cached: boolean;
}

/**
 * Scores distinct texts through the shared cache: one read for all of them, `scoreMisses` for the
 * misses only, then one write of the fresh results. Each text is hashed once for both. Online
 * requests and batch chunks both label text this way.
 */
export async function scoreThroughCache(
  cache: PredictionCache,
  model: ModelKey,
  distinctTexts: readonly string[],
  scoreMisses: (texts: string[]) => Promise<ArrayLike<number>[]>,
): Promise<Map<string, ScoredText>> {
  const keys = distinctTexts.map((text) => cache.key(model, text));
  const cached = await cache.read(keys);
  const misses = distinctTexts.flatMap((_, i) => (cached[i] === null ? [i] : []));
  const fresh = await scoreMisses(misses.map((i) => distinctTexts[i]));
  await cache.write(misses.map((i, m) => ({ key: keys[i], scores: fresh[m] })));
  // Misses are in text order, so the fresh results line up with them one after another.
  const scored = new Map<string, ScoredText>();
  let next = 0;
  distinctTexts.forEach((text, i) => {
    const hit = cached[i];
    scored.set(text, hit ? { scores: hit, cached: true } : { scores: fresh[next++], cached: false });
  });
  return scored;
}
