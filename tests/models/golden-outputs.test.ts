import { committedOutputs, currentOutputs, GOLDEN_SETS } from '../support/golden-outputs';

/**
 * The bundled models give today what they gave when their outputs were recorded
 * (tests/models/golden/, from `node dist/tests/support/golden-outputs.js --write`): the same label
 * for every text of SST-2 dev (sentiment) and of TREC train (question-type), with its probability
 * within 1e-5 (ONNX Runtime's kernels may differ in the last bits from one CPU to another). Speed
 * work on features, runs or the runtime must change no output.
 */
describe.each(GOLDEN_SETS)('the bundled $model model on $dataset', ({ model, dataset }) => {
  it('gives every text the label and probability recorded', async () => {
    const recorded = committedOutputs(model);
    const now = await currentOutputs(model, dataset);
    // A retrained model has another version: its outputs are recorded again on purpose, not compared.
    expect({ version: now.version, labels: now.labels, rows: now.best.length }).toEqual({ version: recorded.version, labels: recorded.labels, rows: recorded.best.length });
    const differing = [...now.best].flatMap((label, i) => (label !== recorded.best[i] || Math.abs(now.scores[i] - recorded.scores[i]) > 1e-5 ? [i] : []));
    expect({ differing: differing.slice(0, 10), count: differing.length }).toEqual({ differing: [], count: 0 });
  });
});
