import { readLabeledCsv, type LabeledTexts } from './datasets';
import type { DatasetRef, ModelRecipe } from './recipes';
import { stratifiedHoldOut } from './split';

/** Display name of a dataset part, e.g. `trec/train.csv (held-out 10%)`. */
export function describePart(ref: DatasetRef, recipe: ModelRecipe): string {
  const percent = recipe.holdOut ? `${Math.round(recipe.holdOut.fraction * 100)}%` : '?';
  if (ref.part === 'held-out') return `${ref.file} (held-out ${percent})`;
  if (ref.part === 'train-part') return `${ref.file} (without held-out ${percent})`;
  return ref.file;
}

/**
 * The rows of one dataset part. Hold-out parts come from the recipe's seeded split, so training
 * and evaluation agree on which rows were held out.
 * @throws MissingDatasetError when the file is missing; Error when a hold-out part has no `holdOut`.
 */
export function loadPart(datasetsDir: string, recipe: ModelRecipe, ref: DatasetRef): LabeledTexts {
  const data = readLabeledCsv(datasetsDir, ref.file);
  if (ref.part === 'all') return data;
  if (!recipe.holdOut) throw new Error(`recipe ${recipe.name}: part "${ref.part}" needs a holdOut setting`);
  const split = stratifiedHoldOut(data, recipe.holdOut.fraction, recipe.holdOut.seed);
  return ref.part === 'held-out' ? split.heldOut : split.train;
}
