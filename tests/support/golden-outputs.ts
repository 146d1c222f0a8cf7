/**
 * The bundled models' outputs on their datasets, as committed in tests/models/golden/: what a
 * change to features, runs or the runtime must leave as it is (tests/models/golden-outputs.test.ts).
 * `node dist/tests/support/golden-outputs.js --write` records them again, after a model is retrained
 * on purpose, say.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { readModelDefinition } from '../../src/models/manifest';
import { ModelRunner } from '../../src/models/model-runner';
import { workerRunSize } from '../../src/models/run-size';
import { BUNDLED_MODELS_DIR, PROJECT_ROOT, SHARED_DIR } from './paths';

/** Each bundled model and the dataset file its outputs are kept for. */
export const GOLDEN_SETS = [
  { model: 'sentiment', dataset: 'sst2/dev.csv' },
  { model: 'question-type', dataset: 'trec/train.csv' },
] as const;

/** Per text, in the dataset's order: the index of the label the model gives, and that label's probability. */
export interface GoldenOutputs {
  model: string;
  version: string;
  dataset: string;
  labels: string[];
  /** One digit a row (the label's index; the bundled models have fewer than ten labels). */
  best: string;
  /** The best label's probability, to six decimals. */
  scores: number[];
}

export function goldenFile(model: string): string {
  return path.join(PROJECT_ROOT, 'tests/models/golden', `${model}.json`);
}

/** Runs the bundled `model` on every text of `dataset`, in runs of the size workers use for it (runs of other sizes may differ in a score's last bits). */
export async function currentOutputs(model: string, dataset: string): Promise<GoldenOutputs> {
  const rows = parse(readFileSync(path.join(SHARED_DIR, 'datasets', dataset)), { columns: true }) as { text: string }[];
  const definition = await readModelDefinition(path.join(BUNDLED_MODELS_DIR, model));
  const runSize = workerRunSize(definition, { maxRunSize: 256, workerMaxRunSize: null });
  const runner = await ModelRunner.load(definition);
  try {
    const { labels, version } = runner.definition;
    let best = '';
    const scores: number[] = [];
    for (let start = 0; start < rows.length; start += runSize) {
      const { values } = await runner.score(rows.slice(start, start + runSize).map((row) => row.text));
      for (let r = 0; r * labels.length < values.length; r++) {
        const row = Array.from(values.subarray(r * labels.length, (r + 1) * labels.length));
        const top = row.indexOf(Math.max(...row));
        best += String(top);
        scores.push(Number(row[top].toFixed(6)));
      }
    }
    return { model, version, dataset, labels: [...labels], best, scores };
  } finally {
    await runner.close();
  }
}

export function committedOutputs(model: string): GoldenOutputs {
  return JSON.parse(readFileSync(goldenFile(model), 'utf8')) as GoldenOutputs;
}

if (require.main === module && process.argv.includes('--write')) {
  void (async () => {
    for (const { model, dataset } of GOLDEN_SETS) {
      const outputs = await currentOutputs(model, dataset);
      writeFileSync(goldenFile(model), `${JSON.stringify(outputs)}\n`);
      process.stdout.write(`${goldenFile(model)}: ${outputs.best.length} rows of ${dataset}, ${model}@${outputs.version}\n`);
    }
  })();
}
