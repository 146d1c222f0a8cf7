/**
 * `npm run eval`: loads each committed model folder under models/ and prints its accuracy on the
 * evaluation files of its recipe, scoring through the server's model runtime. Exits non-zero when a model
 * folder or an evaluation file is missing. Data comes from SIFT_DATASETS_DIR or ../shared/datasets.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MODEL_FILE } from '../models/manifest-schema';
import { accuracy, labelIndices } from './features';
import { scoreTexts } from './onnx-scorer';
import { defaultDatasetsDir, findProjectRoot, modelDir } from './paths';
import { describePart, loadPart } from './recipe-data';
import { RECIPES } from './recipes';
import { formatTable } from './table';

/** `npm run eval`, `sift eval`. */
export async function evaluateModels(): Promise<void> {
  const root = findProjectRoot(__dirname);
  const datasetsDir = process.env.SIFT_DATASETS_DIR ?? defaultDatasetsDir(root);
  const rows: string[][] = [];
  const problems: string[] = [];
  for (const recipe of RECIPES) {
    const dir = modelDir(root, recipe.name);
    if (!fs.existsSync(path.join(dir, MODEL_FILE))) {
      problems.push(`${path.join(dir, MODEL_FILE)} is missing: run \`npm run train\` first`);
      continue;
    }
    for (const ref of recipe.evaluation) {
      const name = describePart(ref, recipe);
      let part;
      try {
        part = loadPart(datasetsDir, recipe, ref);
      } catch (error) {
        problems.push(error instanceof Error ? error.message : String(error));
        rows.push([recipe.name, name, '-', 'missing']);
        continue;
      }
      const { labels, probabilities } = await scoreTexts(dir, part.texts, 256);
      const score = accuracy(probabilities, labelIndices(part.labels, labels));
      rows.push([recipe.name, name, String(part.texts.length), score.toFixed(4)]);
    }
  }
  console.log(`datasets: ${datasetsDir}`);
  console.log(formatTable(['model', 'evaluation file', 'rows', 'accuracy'], rows));
  if (problems.length > 0) {
    console.error(problems.join('\n\n'));
    process.exitCode = 1;
  }
}

if (require.main === module) {
  evaluateModels().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
