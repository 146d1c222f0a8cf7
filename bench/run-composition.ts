/**
 * `node dist/bench/run-composition.js`: whether a text's probabilities depend on the texts that
 * share its model run. Each bundled model scores the distinct texts of its golden dataset
 * (tests/support/golden-outputs.ts: SST-2 dev, the TREC training set) in runs of 256, as workers
 * and the golden outputs do, and again in runs of other sizes (1: a lone online request; 2, 17,
 * 1,000: the run gatherer's and a chunk's); for each, how many texts got probabilities that differ
 * in any bit, the largest difference, and how many got another best label. ONNX Runtime sums a
 * text's feature weights in an order that depends on the run's shape (its rows, and its width: the
 * longest text's features), so the last bits of a float32 probability can move; labels should not.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { readModelDefinition } from '../src/models/manifest';
import { ModelRunner } from '../src/models/model-runner';
import { runBench } from './two-builds';

const ROOT = path.resolve(__dirname, '..', '..');
const SETS = [
  { model: 'sentiment', dataset: 'sst2/dev.csv' },
  { model: 'question-type', dataset: 'trec/train.csv' },
] as const;
const REFERENCE_RUN = 256;
const OTHER_RUNS = [1, 2, 17, 1000];

/** Every text's probabilities, scored in runs of `size` in order, row after row. */
async function scoreInRuns(runner: ModelRunner, texts: readonly string[], size: number): Promise<Float32Array> {
  const labels = runner.definition.labels.length;
  const all = new Float32Array(texts.length * labels);
  for (let start = 0; start < texts.length; start += size) {
    const { values } = await runner.score(texts.slice(start, start + size));
    all.set(values, start * labels);
  }
  return all;
}

function bestLabel(values: Float32Array, row: number, labels: number): number {
  let best = 0;
  for (let k = 1; k < labels; k++) if (values[row * labels + k] > values[row * labels + best]) best = k;
  return best;
}

runBench(async () => {
  console.log(`Each bundled model's golden dataset, distinct texts, scored in runs of ${REFERENCE_RUN} and then in runs of other sizes: texts whose probabilities differ from the runs of ${REFERENCE_RUN} in any bit, the largest difference, and best labels that differ`);
  console.log(`${'model'.padEnd(14)} ${'texts'.padStart(6)} ${'run size'.padStart(8)} ${'differ'.padStart(14)} ${'largest difference'.padStart(18)} ${'other label'.padStart(11)}`);
  for (const { model, dataset } of SETS) {
    const rows = parse(readFileSync(path.join(ROOT, '..', 'shared', 'datasets', dataset)), { columns: true }) as { text: string }[];
    const texts = [...new Set(rows.map((row) => row.text))];
    const runner = await ModelRunner.load(await readModelDefinition(path.join(ROOT, 'models', model)));
    try {
      const labels = runner.definition.labels.length;
      const reference = await scoreInRuns(runner, texts, REFERENCE_RUN);
      for (const size of OTHER_RUNS) {
        const other = await scoreInRuns(runner, texts, size);
        let differ = 0;
        let largest = 0;
        let otherLabel = 0;
        for (let row = 0; row < texts.length; row++) {
          let rowDiffers = false;
          for (let k = 0; k < labels; k++) {
            const difference = Math.abs(other[row * labels + k] - reference[row * labels + k]);
            if (difference > 0) rowDiffers = true;
            largest = Math.max(largest, difference);
          }
          if (rowDiffers) differ++;
          if (bestLabel(other, row, labels) !== bestLabel(reference, row, labels)) otherLabel++;
        }
        const share = `${differ} (${((100 * differ) / texts.length).toFixed(1)}%)`;
        console.log(`${model.padEnd(14)} ${String(texts.length).padStart(6)} ${String(size).padStart(8)} ${share.padStart(14)} ${largest.toExponential(2).padStart(18)} ${String(otherLabel).padStart(11)}`);
      }
    } finally {
      await runner.close();
    }
  }
});
