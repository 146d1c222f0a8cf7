import { accuracy, featurize, labelIndices } from './features';
import { trainLogisticLbfgs } from './logistic-lbfgs';
import { linearLogits, softmax, type LinearModel } from './linear-model';
import { nbLogCountRatios } from './naive-bayes';
import { describePart, loadPart } from './recipe-data';
import type { ModelRecipe } from './recipes';

/** Accuracy of a trained model on one evaluation part, with the probabilities behind it. */
export interface PartResult {
  name: string;
  texts: string[];
  rows: number;
  accuracy: number;
  /** Softmax probabilities from the training-time forward pass, rows x labels. */
  probabilities: number[][];
}

/** A trained model with what it took and how it scored. */
export interface TrainedRecipe {
  model: LinearModel;
  trainRows: number;
  iterations: number;
  milliseconds: number;
  evaluations: PartResult[];
}

/**
 * Trains one recipe's model on its training part and scores it on its evaluation parts with the
 * JavaScript forward pass (the same arithmetic the ONNX graph performs).
 */
export function trainRecipe(recipe: ModelRecipe, datasetsDir: string): TrainedRecipe {
  const started = Date.now();
  const train = loadPart(datasetsDir, recipe, recipe.train);
  const features = featurize(train.texts, recipe.tokenizer);
  const labels = labelIndices(train.labels, recipe.labels);
  const { buckets } = recipe.tokenizer;
  const { naiveBayesAlpha, l2, maxIterations } = recipe.trainer;
  if (naiveBayesAlpha !== undefined && recipe.labels.length !== 2) {
    throw new Error(`recipe ${recipe.name}: Naive-Bayes scaling needs exactly two labels`);
  }
  const featureScale = naiveBayesAlpha === undefined ? undefined : nbLogCountRatios(features, labels, buckets, naiveBayesAlpha);
  const trained = trainLogisticLbfgs(features, labels, { buckets, classes: recipe.labels.length, l2, maxIterations, featureScale });
  const milliseconds = Date.now() - started;
  const { iterations, ...model } = trained;
  const evaluations = recipe.evaluation.map((ref): PartResult => {
    const part = loadPart(datasetsDir, recipe, ref);
    const matrix = featurize(part.texts, recipe.tokenizer);
    const logits = Array.from({ length: matrix.rows }, (_, r) => {
      const [start, end] = [matrix.offsets[r], matrix.offsets[r + 1]];
      return linearLogits(model, matrix.ids.subarray(start, end), matrix.values.subarray(start, end));
    });
    return {
      name: describePart(ref, recipe),
      texts: part.texts,
      rows: part.texts.length,
      accuracy: accuracy(logits, labelIndices(part.labels, recipe.labels)),
      probabilities: logits.map(softmax),
    };
  });
  return { model, trainRows: train.texts.length, iterations, milliseconds, evaluations };
}
