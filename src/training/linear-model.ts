/**
 * A linear classifier over hashed features, laid out exactly as the exported ONNX graph stores it:
 * `weights` is [buckets + 1, classes] row-major with row 0 (the padding id) all zero.
 */
export interface LinearModel {
  buckets: number;
  classes: number;
  weights: Float32Array;
  bias: Float32Array;
}

/**
 * Logits of one row, computed in the order the ONNX graph does (gather, scale by weight, sum over
 * the row, add bias) in float32 steps, so it can be compared with onnxruntime's output.
 */
export function linearLogits(model: LinearModel, ids: ArrayLike<number>, values: ArrayLike<number>): Float32Array {
  const { classes, weights, bias } = model;
  const sums = new Float32Array(classes);
  for (let j = 0; j < ids.length; j++) {
    const base = ids[j] * classes;
    for (let c = 0; c < classes; c++) sums[c] += Math.fround(weights[base + c] * values[j]);
  }
  for (let c = 0; c < classes; c++) sums[c] += bias[c];
  return sums;
}

/** Softmax of a logit vector, shifted by the maximum for stability. */
export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let c = 0; c < logits.length; c++) max = Math.max(max, logits[c]);
  const exps = Array.from(logits, (value) => Math.exp(value - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / total);
}
