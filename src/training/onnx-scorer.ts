import { readModelDefinition } from '../models/manifest';
import { ModelRunner } from '../models/model-runner';

/**
 * Class probabilities (in the model's label order) for `texts`, through the server's own model
 * runtime (manifest checks, tokenizer, ONNX Runtime, softmax) in batches of `batchSize` rows, so
 * evaluation scores exactly what the server would answer.
 */
export async function scoreTexts(modelDir: string, texts: readonly string[], batchSize = 256): Promise<{ labels: string[]; probabilities: number[][] }> {
  const runner = await ModelRunner.load(await readModelDefinition(modelDir));
  try {
    const probabilities: number[][] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      const { rows, labels, values } = await runner.score(texts.slice(start, start + batchSize));
      for (let r = 0; r < rows; r++) probabilities.push(Array.from(values.subarray(r * labels, (r + 1) * labels)));
    }
    return { labels: runner.definition.labels, probabilities };
  } finally {
    await runner.close();
  }
}
