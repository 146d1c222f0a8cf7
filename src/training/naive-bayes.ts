import type { FeatureMatrix } from './features';

/**
 * Naive-Bayes log-count ratios for a two-class problem (Wang & Manning 2012, "Baselines and
 * Bigrams", the NBSVM recipe): r = log((p / |p|1) / (q / |q|1)) with p, q the smoothed counts of rows
 * containing each feature in class 1 and class 0. Scaling inputs by r lets a linear model start from
 * the NB evidence and mostly regularise towards it. Returned as a per-feature scale of length
 * buckets + 1; id 0 (padding) gets 0.
 */
export function nbLogCountRatios(
  data: FeatureMatrix,
  labels: Int32Array,
  buckets: number,
  alpha: number,
): Float32Array {
  const positive = new Float64Array(buckets + 1).fill(alpha);
  const negative = new Float64Array(buckets + 1).fill(alpha);
  for (let r = 0; r < data.rows; r++) {
    const counts = labels[r] === 1 ? positive : negative;
    for (let k = data.offsets[r]; k < data.offsets[r + 1]; k++) counts[data.ids[k]] += 1;
  }
  const sum = (values: Float64Array) => values.reduce((a, b) => a + b, 0);
  const positiveTotal = sum(positive);
  const negativeTotal = sum(negative);
  const ratios = new Float32Array(buckets + 1);
  for (let id = 1; id <= buckets; id++) {
    const r = Math.log(positive[id] / positiveTotal / (negative[id] / negativeTotal));
    ratios[id] = r;
  }
  return ratios;
}
