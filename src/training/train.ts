/**
 * `npm run train`: trains every bundled model (or those named on the command line), writes
 * `models/<name>/model.onnx` and `manifest.json`, checks the ONNX file against the training-time
 * forward pass, and prints a summary. Data comes from SIFT_DATASETS_DIR or ../shared/datasets.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { MissingDatasetError } from './datasets';
import { linearModelBytes, manifestFor, writeModelFolder } from './export';
import { scoreTexts } from './onnx-scorer';
import { defaultDatasetsDir, findProjectRoot, modelDir } from './paths';
import { RECIPES } from './recipes';
import { formatTable } from './table';
import { trainRecipe, type TrainedRecipe } from './train-recipe';

/** Largest difference between ONNX and training-time probabilities over all evaluation rows. */
async function onnxMismatch(dir: string, trained: TrainedRecipe): Promise<number> {
  let worst = 0;
  for (const evaluation of trained.evaluations) {
    const { probabilities: onnxProbabilities } = await scoreTexts(dir, evaluation.texts);
    onnxProbabilities.forEach((row, r) =>
      row.forEach((p, c) => (worst = Math.max(worst, Math.abs(p - evaluation.probabilities[r][c])))),
    );
  }
  return worst;
}

/** `npm run train [-- NAME...]`, `sift train [NAME...]`: every bundled model, or the ones named. */
export async function trainModels(wanted: string[] = process.argv.slice(2)): Promise<void> {
  const started = Date.now();
  const root = findProjectRoot(__dirname);
  const datasetsDir = process.env.SIFT_DATASETS_DIR ?? defaultDatasetsDir(root);
  const recipes = wanted.length > 0 ? RECIPES.filter((recipe) => wanted.includes(recipe.name)) : RECIPES;
  if (recipes.length === 0) throw new Error(`no recipe named ${wanted.join(', ')}; known: ${RECIPES.map((r) => r.name).join(', ')}`);
  console.log(`datasets: ${datasetsDir}`);
  const rows: string[][] = [];
  for (const recipe of recipes) {
    const trained = trainRecipe(recipe, datasetsDir);
    const dir = modelDir(root, recipe.name);
    const manifest = manifestFor(recipe, trained);
    const bytes = linearModelBytes(trained.model, manifest);
    writeModelFolder(dir, manifest, bytes);
    const mismatch = await onnxMismatch(dir, trained);
    // A mismatch beyond float32 rounding means the graph does not compute what was trained.
    if (mismatch > 1e-4) throw new Error(`${recipe.name}: ONNX output differs from training by ${mismatch}`);
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    console.log(
      `${recipe.name}: ${path.relative(root, dir)}/model.onnx ${(bytes.length / 1e6).toFixed(1)} MB sha256 ${sha256.slice(0, 16)}…, ` +
        `ONNX vs training max |Δp| ${mismatch.toExponential(1)}`,
    );
    for (const evaluation of trained.evaluations) {
      rows.push([
        recipe.name, String(trained.trainRows), String(trained.iterations), `${(trained.milliseconds / 1000).toFixed(1)} s`,
        evaluation.name, String(evaluation.rows), evaluation.accuracy.toFixed(4),
      ]);
    }
  }
  console.log(formatTable(['model', 'train rows', 'L-BFGS iterations', 'train time', 'evaluation', 'rows', 'accuracy'], rows));
  console.log(`total time ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (require.main === module) {
  trainModels().catch((error: unknown) => {
    console.error(error instanceof MissingDatasetError ? error.message : error);
    process.exitCode = 1;
  });
}
