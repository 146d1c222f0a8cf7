import { HashedFeaturizer, type HashedNgramsOptions } from '../models/tokenizers/hashed-ngrams';

/**
 * Texts as a compressed sparse row matrix: row `r` has features `ids[offsets[r] .. offsets[r+1])`
 * with values `values[...]`. Built with the runtime tokenizer (`HashedFeaturizer`), so training sees
 * exactly the ids and weights the served model will receive.
 */
export interface FeatureMatrix {
  rows: number;
  offsets: Int32Array;
  ids: Int32Array;
  /** Float32, as the ONNX `weights` input is: training then sees the values served inference sees. */
  values: Float32Array;
}

/** Featurises `texts` with the tokenizer options a model will ship with. */
export function featurize(texts: readonly string[], options: HashedNgramsOptions): FeatureMatrix {
  const featurizer = new HashedFeaturizer(options);
  const perRow = texts.map((text) => featurizer.features(text));
  const offsets = new Int32Array(texts.length + 1);
  perRow.forEach((row, r) => (offsets[r + 1] = offsets[r] + row.ids.length));
  const ids = new Int32Array(offsets[texts.length]);
  const values = new Float32Array(offsets[texts.length]);
  perRow.forEach((row, r) => {
    ids.set(row.ids, offsets[r]);
    values.set(row.weights, offsets[r]);
  });
  return { rows: texts.length, offsets, ids, values };
}

/** Maps label strings to class indices in `labels` order. @throws on a label not in `labels`. */
export function labelIndices(rowLabels: readonly string[], labels: readonly string[]): Int32Array {
  const index = new Map(labels.map((label, i) => [label, i]));
  return Int32Array.from(rowLabels, (label) => {
    const found = index.get(label);
    if (found === undefined) throw new Error(`unknown label "${label}" (expected one of ${labels.join(', ')})`);
    return found;
  });
}

/** Fraction of rows whose highest score is the true class. */
export function accuracy(scores: readonly ArrayLike<number>[], truth: Int32Array): number {
  let correct = 0;
  scores.forEach((row, r) => {
    let best = 0;
    for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
    if (best === truth[r]) correct++;
  });
  return scores.length === 0 ? 0 : correct / scores.length;
}
