import { encodeScores, textHash, type ModelKey, type PredictionCache } from '../cache/prediction-cache';

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
 * requests and batch chunks both label text this way. Returns each text's scores in the order of
 * `distinctTexts` (arrays, not a map by text: a batch chunk looks its rows up by position).
 */
export async function scoreThroughCache(
  cache: PredictionCache,
  model: ModelKey,
  distinctTexts: readonly string[],
  scoreMisses: (texts: string[]) => Promise<ArrayLike<number>[]>,
): Promise<ScoredText[]> {
  const hashes = distinctTexts.map(textHash);
  const cached = await cache.readEntries(model, hashes);
  const misses: number[] = [];
  for (let i = 0; i < cached.length; i++) if (cached[i] === null) misses.push(i);
  const fresh = await scoreMisses(misses.map((i) => distinctTexts[i]));
  // Serialized once, for the cache and for whoever stores the scores again (batch results).
  const freshJson = fresh.map(encodeScores);
  await cache.writeValues(
    model,
    misses.map((i) => hashes[i]),
    freshJson,
  );
  const scored = new Array<ScoredText>(distinctTexts.length);
  misses.forEach((i, m) => (scored[i] = { scores: fresh[m], scoresJson: freshJson[m], cached: false }));
  for (let i = 0; i < cached.length; i++) {
    const hit = cached[i];
    if (hit !== null) scored[i] = { scores: hit.scores, scoresJson: hit.scoresJson, cached: true };
  }
  return scored;
}

/**
 * Each text's position among `distinct`, the texts without repeats in first-seen order; -1 for a
 * null (a row with no text to label).
 */
export function distinctIndex(texts: readonly (string | null)[]): { distinct: string[]; positions: Int32Array } {
  const seen = new Map<string, number>();
  const distinct: string[] = [];
  const positions = new Int32Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i];
    if (text === null) {
      positions[i] = -1;
      continue;
    }
    let position = seen.get(text);
    if (position === undefined) {
      position = distinct.push(text) - 1;
      seen.set(text, position);
    }
    positions[i] = position;
  }
  return { distinct, positions };
}
