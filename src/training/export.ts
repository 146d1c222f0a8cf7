import fs from 'node:fs';
import path from 'node:path';
import { MANIFEST_FILE, MODEL_FILE, type HashedNgramsManifest } from '../models/manifest-schema';
import type { LinearModel } from './linear-model';
import type { ModelRecipe } from './recipes';
import type { TrainedRecipe } from './train-recipe';
import { encodeModel, floatTensor, graph, int64Tensor, intAttr, model, node, valueInfo } from './onnx-graph';

/**
 * The ONNX graph of a linear model over hashed features:
 * Gather(W, ids) -> Mul(Unsqueeze(weights, 2)) -> ReduceSum(axis 1) [-> MatMul(P)] -> Add(bias).
 * With two classes only the difference of the two weight columns matters to softmax, so W holds
 * that single column and P = [[-1/2, 1/2]] turns the score s into logits [-s/2, s/2] (+ bias):
 * same probabilities, half the file. Row 0 of W (the padding id) is zero.
 */
export function linearModelBytes(linear: LinearModel, manifest: HashedNgramsManifest): Uint8Array {
  const { buckets, classes, weights, bias } = linear;
  const binary = classes === 2;
  const columns = binary ? 1 : classes;
  const table = binary ? new Float32Array(buckets + 1) : weights;
  if (binary) for (let id = 1; id <= buckets; id++) table[id] = weights[id * 2 + 1] - weights[id * 2];
  const outputBias = binary ? [(bias[0] - bias[1]) / 2, (bias[1] - bias[0]) / 2] : Array.from(bias);
  const { ids, weights: weightsInput } = manifest.inputs;
  const logits = manifest.output.name;
  const nodes = [
    node('Gather', ['W', ids], ['gathered']),
    node('Unsqueeze', [weightsInput, 'axis2'], ['weights3d']),
    node('Mul', ['gathered', 'weights3d'], ['weighted']),
    node('ReduceSum', ['weighted', 'axis1'], ['summed'], [intAttr('keepdims', 0)]),
    ...(binary ? [node('MatMul', ['summed', 'P'], ['projected'])] : []),
    node('Add', [binary ? 'projected' : 'summed', 'bias'], [logits]),
  ];
  const initializers = [
    floatTensor('W', [buckets + 1, columns], table),
    int64Tensor('axis1', [1], [1]),
    int64Tensor('axis2', [1], [2]),
    floatTensor('bias', [classes], outputBias),
    ...(binary ? [floatTensor('P', [1, 2], [-0.5, 0.5])] : []),
  ];
  const g = graph({
    name: 'hashed_ngrams_linear',
    inputs: [valueInfo(ids, 'int32', ['rows', 'width']), valueInfo(weightsInput, 'float', ['rows', 'width'])],
    outputs: [valueInfo(logits, 'float', ['rows', classes])],
    initializers,
    nodes,
  });
  return encodeModel(model(g, { docString: manifest.description ?? '' }));
}

/**
 * Writes `model.onnx` and `manifest.json` into `dir` (created if needed), replacing what is there.
 * The manifest is pretty-printed with a trailing newline, as a committed file should be.
 */
export function writeModelFolder(dir: string, manifest: HashedNgramsManifest, modelBytes: Uint8Array): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, MODEL_FILE), modelBytes);
  fs.writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** The manifest of a trained bundled model; its description records the accuracy measured. */
export function manifestFor(recipe: ModelRecipe, trained: TrainedRecipe): HashedNgramsManifest {
  const measured = trained.evaluations.map((e) => `${e.accuracy.toFixed(3)} on ${e.name}, ${e.rows} rows`).join('; ');
  return {
    format: 1,
    description: `${recipe.describe} Accuracy ${measured}.`,
    labels: recipe.labels,
    maxTextLength: recipe.maxTextLength,
    tokenizer: recipe.tokenizer,
    inputs: { ids: 'ids', weights: 'weights' },
    output: { name: 'logits', kind: 'logits' },
  };
}
