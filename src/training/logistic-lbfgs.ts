import type { FeatureMatrix } from './features';
import { minimizeLbfgs } from './lbfgs';
import type { LinearModel } from './linear-model';

/** Settings of {@link trainLogisticLbfgs}. */
export interface LogisticOptions {
  buckets: number;
  classes: number;
  /** L2 penalty on the weights (not the bias), relative to the mean loss per row. */
  l2: number;
  maxIterations: number;
  /** Optional per-feature input scale (length buckets + 1), folded into the returned weights. */
  featureScale?: Float32Array;
}

/**
 * Multinomial logistic regression, minimising mean cross-entropy + l2/2 * |W|^2 with L-BFGS.
 * Only buckets that occur in the training rows get parameters during the fit (a few hundred
 * thousand instead of millions), which keeps the optimiser's history small; the rest stay zero.
 */
export function trainLogisticLbfgs(data: FeatureMatrix, labels: Int32Array, options: LogisticOptions): LinearModel & { iterations: number } {
  const { buckets, classes, l2, featureScale } = options;
  // Compact the used bucket ids to 0..used-1, in order of first appearance (deterministic).
  const compactOf = new Int32Array(buckets + 1).fill(-1);
  const bucketOf: number[] = [];
  const columns = new Int32Array(data.ids.length);
  const values = new Float64Array(data.ids.length);
  for (let k = 0; k < data.ids.length; k++) {
    const id = data.ids[k];
    if (compactOf[id] < 0) {
      compactOf[id] = bucketOf.length;
      bucketOf.push(id);
    }
    columns[k] = compactOf[id];
    values[k] = featureScale ? data.values[k] * featureScale[id] : data.values[k];
  }
  const used = bucketOf.length;
  const biasAt = used * classes; // parameters: [used, classes] weights, then [classes] bias
  const scores = new Float64Array(classes);
  const objective = (x: Float64Array, gradient: Float64Array): number => {
    gradient.fill(0);
    let loss = 0;
    for (let r = 0; r < data.rows; r++) {
      const start = data.offsets[r];
      const end = data.offsets[r + 1];
      for (let c = 0; c < classes; c++) scores[c] = x[biasAt + c];
      for (let k = start; k < end; k++) {
        const base = columns[k] * classes;
        for (let c = 0; c < classes; c++) scores[c] += x[base + c] * values[k];
      }
      let max = -Infinity;
      for (let c = 0; c < classes; c++) max = Math.max(max, scores[c]);
      let total = 0;
      for (let c = 0; c < classes; c++) total += scores[c] = Math.exp(scores[c] - max);
      loss -= Math.log(scores[labels[r]] / total);
      for (let c = 0; c < classes; c++) scores[c] /= total;
      scores[labels[r]] -= 1;
      for (let c = 0; c < classes; c++) gradient[biasAt + c] += scores[c];
      for (let k = start; k < end; k++) {
        const base = columns[k] * classes;
        for (let c = 0; c < classes; c++) gradient[base + c] += scores[c] * values[k];
      }
    }
    const inverseRows = 1 / data.rows;
    let penalty = 0;
    for (let i = 0; i < gradient.length; i++) {
      gradient[i] *= inverseRows;
      if (i < biasAt) {
        penalty += x[i] * x[i];
        gradient[i] += l2 * x[i];
      }
    }
    return loss * inverseRows + 0.5 * l2 * penalty;
  };
  const result = minimizeLbfgs(objective, new Float64Array(biasAt + classes), { maxIterations: options.maxIterations });
  const weights = new Float32Array((buckets + 1) * classes);
  bucketOf.forEach((id, compact) => {
    const scale = featureScale ? featureScale[id] : 1;
    for (let c = 0; c < classes; c++) weights[id * classes + c] = result.x[compact * classes + c] * scale;
  });
  const bias = Float32Array.from({ length: classes }, (_, c) => result.x[biasAt + c]);
  return { buckets, classes, weights, bias, iterations: result.iterations };
}
