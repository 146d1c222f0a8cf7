/** Evaluates the objective at `x`, writes its gradient into `gradient`, returns the value. */
export type Objective = (x: Float64Array, gradient: Float64Array) => number;

/** Settings of {@link minimizeLbfgs}. */
export interface LbfgsOptions {
  /** Iterations at most (each costs one or a few objective evaluations). */
  maxIterations: number;
  /** Pairs of past steps kept for the curvature estimate. */
  memory?: number;
  /** Stop when the objective improves by less than this fraction over one iteration. */
  relativeTolerance?: number;
}

/** Result of {@link minimizeLbfgs}. */
export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
};

/**
 * Limited-memory BFGS with a backtracking (Armijo) line search, minimising a smooth function from
 * `start` (not modified). Full-batch and free of random choices, so the same data gives the same
 * optimum bit for bit; with an L2 term the objective is strictly convex and no learning rate or
 * epoch count needs tuning.
 */
export function minimizeLbfgs(objective: Objective, start: Float64Array, options: LbfgsOptions): LbfgsResult {
  const memory = options.memory ?? 10;
  const tolerance = options.relativeTolerance ?? 1e-7;
  const n = start.length;
  let x = Float64Array.from(start);
  let gradient = new Float64Array(n);
  let value = objective(x, gradient);
  const steps: Float64Array[] = [];
  const gradientChanges: Float64Array[] = [];
  const rhos: number[] = [];
  const direction = new Float64Array(n);
  const alphas = new Float64Array(memory);
  let iteration = 0;
  while (iteration < options.maxIterations) {
    iteration++;
    // Two-loop recursion: direction = -H * gradient, H the inverse-Hessian estimate.
    for (let i = 0; i < n; i++) direction[i] = -gradient[i];
    for (let k = steps.length - 1; k >= 0; k--) {
      alphas[k] = rhos[k] * dot(steps[k], direction);
      const y = gradientChanges[k];
      for (let i = 0; i < n; i++) direction[i] -= alphas[k] * y[i];
    }
    if (steps.length > 0) {
      const last = steps.length - 1;
      const gamma = dot(steps[last], gradientChanges[last]) / dot(gradientChanges[last], gradientChanges[last]);
      for (let i = 0; i < n; i++) direction[i] *= gamma;
    } else {
      // First step: a unit-length move along the negative gradient.
      const norm = Math.sqrt(dot(gradient, gradient)) || 1;
      for (let i = 0; i < n; i++) direction[i] /= norm;
    }
    for (let k = 0; k < steps.length; k++) {
      const beta = rhos[k] * dot(gradientChanges[k], direction);
      const s = steps[k];
      for (let i = 0; i < n; i++) direction[i] += (alphas[k] - beta) * s[i];
    }
    const slope = dot(gradient, direction);
    if (slope >= 0) break; // not a descent direction: numerically converged
    const next = new Float64Array(n);
    const nextGradient = new Float64Array(n);
    let stepSize = 1;
    let nextValue = Infinity;
    for (let tries = 0; tries < 30; tries++) {
      for (let i = 0; i < n; i++) next[i] = x[i] + stepSize * direction[i];
      nextValue = objective(next, nextGradient);
      if (nextValue <= value + 1e-4 * stepSize * slope) break;
      stepSize /= 2;
    }
    if (!(nextValue < value)) break;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = next[i] - x[i];
      y[i] = nextGradient[i] - gradient[i];
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      if (steps.length === memory) {
        steps.shift();
        gradientChanges.shift();
        rhos.shift();
      }
      steps.push(s);
      gradientChanges.push(y);
      rhos.push(1 / sy);
    }
    const improvement = (value - nextValue) / Math.max(Math.abs(value), 1e-12);
    x = next;
    gradient = nextGradient;
    value = nextValue;
    if (improvement < tolerance) break;
  }
  return { x, value, iterations: iteration };
}
