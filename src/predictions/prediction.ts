/** One label and its probability. */
export interface LabelScore {
  label: string;
  score: number;
}

/** The answer for one text (GraphQL `Prediction`). */
export interface Prediction {
  text: string;
  label: string;
  score: number;
  /** Every label, most probable first. */
  scores: LabelScore[];
  model: string;
  modelVersion: string;
  cached: boolean;
}

/** Builds a prediction from probabilities given in the model's label order. */
export function toPrediction(
  text: string,
  probabilities: ArrayLike<number>,
  model: { name: string; version: string; labels: readonly string[] },
  cached: boolean,
): Prediction {
  const scores = model.labels
    .map((label, i) => ({ label, score: Number(probabilities[i]) }))
    .sort((a, b) => b.score - a.score);
  return { text, label: scores[0].label, score: scores[0].score, scores, model: model.name, modelVersion: model.version, cached };
}

/** Index of the most probable label (the first of equals, as `toPrediction` picks it). */
export function bestLabelIndex(probabilities: ArrayLike<number | null>): number {
  let best = 0;
  for (let i = 1; i < probabilities.length; i++) if (Number(probabilities[i]) > Number(probabilities[best])) best = i;
  return best;
}
