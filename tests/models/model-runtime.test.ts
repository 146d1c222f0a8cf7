import { existsSync, mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readModelDefinition } from '../../src/models/manifest';
import { ModelRunner } from '../../src/models/model-runner';
import { BUNDLED_MODELS_DIR } from '../support/paths';
import { hashedReference, transformerReference, writeTinyHashedModel, writeTinyTransformerModel } from '../support/tiny-models';

const root = mkdtempSync(path.join(tmpdir(), 'sift-runtime-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ODD_TEXTS = ['a lone \ud800 surrogate', 'control\u0000chars\u0007\u001b[31m', '🙂🙃 emoji only', '   padded   ', 'x'];

async function rows(runner: ModelRunner, texts: string[]): Promise<number[][]> {
  const matrix = await runner.score(texts);
  return Array.from({ length: matrix.rows }, (_, r) => Array.from(matrix.values.slice(r * matrix.labels, (r + 1) * matrix.labels)));
}

// The same conformance checks for every kind of model folder the runtime supports.
const kinds: [string, () => string][] = [
  ['hashed n-gram model', () => writeTinyHashedModel(root)],
  ['transformer-shaped model with a WordPiece tokenizer.json', () => writeTinyTransformerModel(root)],
];
if (existsSync(path.join(BUNDLED_MODELS_DIR, 'sentiment/model.onnx'))) kinds.push(['bundled sentiment model', () => path.join(BUNDLED_MODELS_DIR, 'sentiment')]);

describe.each(kinds)('model runtime conformance: %s', (_kind, makeDir) => {
  let runner: ModelRunner;
  beforeAll(async () => {
    runner = await ModelRunner.load(await readModelDefinition(makeDir()));
  });
  afterAll(() => runner.close());

  it('has a content-hash version and at least two labels', () => {
    expect(runner.definition.version).toMatch(/^[0-9a-f]{16}$/);
    expect(runner.definition.labels.length).toBeGreaterThanOrEqual(2);
  });

  it('gives one probability per label, each in [0, 1], summing to 1', async () => {
    for (const scores of await rows(runner, ['a first text', 'and a second, rather longer text than the first one'])) {
      expect(scores).toHaveLength(runner.definition.labels.length);
      for (const s of scores) expect(s).toBeGreaterThanOrEqual(0);
      expect(scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it('scores a text the same alone and inside a padded batch', async () => {
    const texts = ['short', 'a much longer text with many more words in it than the short one has', 'mid length text'];
    const together = await rows(runner, texts);
    for (const [i, text] of texts.entries()) {
      const [alone] = await rows(runner, [text]);
      alone.forEach((v, j) => expect(together[i][j]).toBeCloseTo(v, 5));
    }
  });

  it('survives lone surrogates, control characters and emoji', async () => {
    const scores = await rows(runner, ODD_TEXTS);
    expect(scores).toHaveLength(ODD_TEXTS.length);
    for (const row of scores) expect(row.every(Number.isFinite)).toBe(true);
  });
});

describe('hashed n-gram model', () => {
  it('matches a plain JavaScript forward pass of its known weights', async () => {
    const runner = await ModelRunner.load(await readModelDefinition(writeTinyHashedModel(root, 'hashed-reference')));
    const texts = ['The weather is warm today', "it isn't cold", 'HOT hot hot', ...ODD_TEXTS];
    const scores = await rows(runner, texts);
    texts.forEach((text, i) => hashedReference(text).forEach((p, j) => expect(scores[i][j]).toBeCloseTo(p, 5)));
    await runner.close();
  });
});

describe('a model that gives probabilities itself (output kind "probabilities")', () => {
  it('has each brought into 0..1, as the shared cache keeps only probabilities', async () => {
    // The tiny model's graph gives logits; called probabilities, some are far outside 0..1.
    const dir = writeTinyHashedModel(root, 'probabilities-kind');
    const manifestFile = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { output: { kind: string } };
    manifest.output.kind = 'probabilities';
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const runner = await ModelRunner.load(await readModelDefinition(dir));
    const scores = (await rows(runner, ['The weather is warm today', "it isn't cold", 'HOT hot hot'])).flat();
    await runner.close();
    for (const score of scores) expect(score >= 0 && score <= 1).toBe(true);
    expect(scores.some((score) => score === 0 || score === 1)).toBe(true);
  });
});

describe('execution providers', () => {
  it('runs on the providers asked for (cpu), and a provider this runtime lacks stops the load naming the setting', async () => {
    const definition = await readModelDefinition(writeTinyHashedModel(root, 'hashed-providers'));
    const cpu = await ModelRunner.load(definition, { executionProviders: ['cpu'] });
    expect((await cpu.score(['warm'])).rows).toBe(1);
    await cpu.close();
    // onnxruntime-node installs without its CUDA libraries (see .npmrc); where they were added, cuda loads.
    const cudaInstalled = existsSync(path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so'));
    const cuda = ModelRunner.load(definition, { executionProviders: ['cuda', 'cpu'] });
    if (cudaInstalled) {
      await (await cuda).close();
    } else {
      await expect(cuda).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/SIFT_EXECUTION_PROVIDERS=cuda,cpu .*set SIFT_EXECUTION_PROVIDERS=cpu/) });
    }
  });
});

describe('transformer-shaped model', () => {
  let runner: ModelRunner;
  beforeAll(async () => {
    runner = await ModelRunner.load(await readModelDefinition(writeTinyTransformerModel(root, 'tt-reference', 8)));
  });
  afterAll(() => runner.close());

  it('takes its labels from config.json id2label', () => {
    expect(runner.definition.labels).toEqual(['NEGATIVE', 'POSITIVE']);
  });

  it('tokenizes with tokenizer.json (WordPiece, lower-casing, [UNK], sub-words) and matches the reference', async () => {
    const cases: [string, string[]][] = [
      ['A GOOD movie', ['[CLS]', '[UNK]', 'good', 'movie', '[SEP]']],
      ['the movies were awful', ['[CLS]', 'the', 'movie', '##s', '[UNK]', 'awful', '[SEP]']],
      ['unfun', ['[CLS]', 'un', '##fun', '[SEP]']],
    ];
    const scores = await rows(runner, cases.map(([text]) => text));
    cases.forEach(([, tokens], i) => transformerReference(tokens).forEach((p, j) => expect(scores[i][j]).toBeCloseTo(p, 5)));
    expect(scores[0][1]).toBeGreaterThan(0.85);
    expect(scores[1][0]).toBeGreaterThan(0.85);
  });

  it('truncates to the manifest maxLength, keeping the final [SEP]', async () => {
    const text = 'bad bad bad bad bad bad good good good good good good good';
    const [scores] = await rows(runner, [text]);
    // 8 tokens: [CLS], six times "bad", [SEP]; the good words never reach the model.
    transformerReference(['[CLS]', 'bad', 'bad', 'bad', 'bad', 'bad', 'bad', '[SEP]']).forEach((p, j) => expect(scores[j]).toBeCloseTo(p, 5));
  });
});

describe('model versions', () => {
  it('change when any file of the folder changes', async () => {
    const dir = writeTinyHashedModel(root, 'versioned');
    const before = (await readModelDefinition(dir)).version;
    expect((await readModelDefinition(dir)).version).toBe(before);
    const manifestFile = path.join(dir, 'manifest.json');
    writeFileSync(manifestFile, readFileSync(manifestFile, 'utf8').replace('known weights', 'known weights, retrained'));
    expect((await readModelDefinition(dir)).version).not.toBe(before);
  });
});
