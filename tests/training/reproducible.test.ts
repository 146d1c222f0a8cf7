import { readFileSync } from 'node:fs';
import path from 'node:path';
import { linearModelBytes, manifestFor } from '../../src/training/export';
import { RECIPES } from '../../src/training/recipes';
import { trainRecipe } from '../../src/training/train-recipe';
import { BUNDLED_MODELS_DIR, SHARED_DIR } from '../support/paths';

const datasets = path.join(SHARED_DIR, 'datasets');

describe('training is seeded and deterministic', () => {
  // question-type trains in seconds; sentiment uses the same code path at 13x the rows.
  const recipe = RECIPES.find((r) => r.name === 'question-type')!;

  it('retraining question-type reproduces the committed model.onnx and manifest.json byte for byte', () => {
    const trained = trainRecipe(recipe, datasets);
    const manifest = manifestFor(recipe, trained);
    const dir = path.join(BUNDLED_MODELS_DIR, recipe.name);
    expect(`${JSON.stringify(manifest, null, 2)}\n`).toBe(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(Buffer.from(linearModelBytes(trained.model, manifest)).equals(readFileSync(path.join(dir, 'model.onnx')))).toBe(true);
    expect(trained.evaluations[0].accuracy).toBeGreaterThan(0.8);
  }, 120_000);
});
