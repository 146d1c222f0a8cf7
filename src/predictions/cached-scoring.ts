import { encodeScores, type ModelKey, type PredictionCache } from '../cache/prediction-cache';

/** The probabilities of one text and whether they came from the shared cache. */
export interface ScoredText {
  scores: ArrayLike<number>;
  /** The same probabilities as the cache stores them (JSON), for callers that store them too. */
  scoresJson: string;
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
  const cached = await cache.read(keys, model);
  const misses = distinctTexts.flatMap((_, i) => (cached[i] === null ? [i] : []));
  const fresh = await scoreMisses(misses.map((i) => distinctTexts[i]));
  // Serialized once, for the cache and for whoever stores the scores again (batch results).
  const freshJson = fresh.map(encodeScores);
  await cache.writeValues(misses.map((i, m) => ({ key: keys[i], value: freshJson[m] })));
  // Misses are in text order, so the fresh results line up with them one after another.
  const scored = new Map<string, ScoredText>();
  let next = 0;
  distinctTexts.forEach((text, i) => {
    const hit = cached[i];
    if (hit !== null) {
      // Encoded again, not copied: stored results then hold every score in jsonNumber's shortest
      // form, whoever wrote the cache (a download compares scores as text, see outcome-reader.ts).
      scored.set(text, { scores: hit, scoresJson: encodeScores(hit), cached: true });
    } else {
      scored.set(text, { scores: fresh[next], scoresJson: freshJson[next], cached: false });
      next++;
    }
  });
  return scored;
}
