import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCodes, SiftError } from '../../src/errors';
import { readModelDefinition } from '../../src/models/manifest';
import { ModelCatalog } from '../../src/models/model-catalog';
import { ModelRunner } from '../../src/models/model-runner';
import { writeTinyHashedModel, writeTinyTransformerModel } from '../support/tiny-models';

const root = mkdtempSync(path.join(tmpdir(), 'sift-broken-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function editManifest(dir: string, edit: (manifest: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  edit(manifest);
  writeFileSync(file, JSON.stringify(manifest));
}

/** Loads a model folder the way start-up does and returns the error it stops with. */
async function startUpError(dir: string): Promise<SiftError> {
  try {
    await (await ModelRunner.load(await readModelDefinition(dir))).close();
  } catch (error) {
    return error as SiftError;
  }
  throw new Error(`expected ${dir} to be refused`);
}

const breakages: [string, (dir: string) => void, string, RegExp][] = [
  ['no manifest.json', (dir) => unlinkSync(path.join(dir, 'manifest.json')), 'manifest.json', /missing/],
  ['manifest.json that is not JSON', (dir) => writeFileSync(path.join(dir, 'manifest.json'), '{ "format": 1,'), 'manifest.json', /not valid JSON/],
  ['no model.onnx', (dir) => unlinkSync(path.join(dir, 'model.onnx')), 'model.onnx', /missing/],
  ['a model.onnx that is not ONNX', (dir) => writeFileSync(path.join(dir, 'model.onnx'), 'not a model'), 'model.onnx', /cannot be loaded/],
  ['one label only', (dir) => editManifest(dir, (m) => (m.labels = ['only'])), 'manifest.json', /labels/],
  ['a label count the graph does not give', (dir) => editManifest(dir, (m) => (m.labels = ['a', 'b'])), 'model.onnx', /3 scores .* 2 labels/],
  ['an output name the graph lacks', (dir) => editManifest(dir, (m) => (m.output = { name: 'probs', kind: 'logits' })), 'model.onnx', /no output named probs/],
  ['an input name the graph lacks', (dir) => editManifest(dir, (m) => (m.inputs = { ids: 'token_ids', weights: 'weights' })), 'model.onnx', /no input named token_ids/],
  ['an unknown tokenizer kind', (dir) => editManifest(dir, (m) => (m.tokenizer = { kind: 'sentencepiece' })), 'manifest.json', /tokenizer.kind/],
  ['no maxTextLength', (dir) => editManifest(dir, (m) => delete m.maxTextLength), 'manifest.json', /maxTextLength/],
  ['more buckets than an int32 id can name', (dir) => editManifest(dir, (m) => ((m.tokenizer as { buckets: number }).buckets = 2 ** 31)), 'manifest.json', /tokenizer.buckets must be at most 2147483647/],
];

describe('a broken model folder stops start-up with a message naming the file', () => {
  it.each(breakages)('%s', async (_name, breakIt, file, problem) => {
    const dir = writeTinyHashedModel(root, `hashed-${counter++}`);
    breakIt(dir);
    const error = await startUpError(dir);
    expect(error).toBeInstanceOf(SiftError);
    expect(error.code).toBe(ErrorCodes.BAD_MODEL);
    expect(error.message).toContain(path.join(dir, file));
    expect(error.message).toMatch(problem);
  });

  it.each([
    ['no tokenizer.json', 'tokenizer.json', /missing/],
    ['a config.json without id2label', 'config.json', /id2label/],
  ])('transformer folder with %s', async (name, file, problem) => {
    const dir = writeTinyTransformerModel(root, `transformer-${counter++}`);
    if (file === 'tokenizer.json') unlinkSync(path.join(dir, file));
    else writeFileSync(path.join(dir, file), JSON.stringify({ architectures: ['X'] }));
    const error = await startUpError(dir);
    expect(error.code).toBe(ErrorCodes.BAD_MODEL);
    expect(error.message).toContain(path.join(dir, file));
    expect(error.message).toMatch(problem);
  });
});

describe('ModelCatalog.load', () => {
  it('refuses a default model that does not exist, listing the models found', async () => {
    const dir = mkdtempSync(path.join(root, 'catalog-'));
    writeTinyHashedModel(dir, 'alpha');
    await expect(ModelCatalog.load(dir, 'sentiment')).rejects.toThrow(/SIFT_DEFAULT_MODEL=sentiment .* alpha/);
  });

  it('refuses a models folder that does not exist or holds no models', async () => {
    await expect(ModelCatalog.load(path.join(root, 'nowhere'), 'x')).rejects.toThrow(/SIFT_MODELS_DIR=.*nowhere/);
    await expect(ModelCatalog.load(mkdtempSync(path.join(root, 'empty-')), 'x')).rejects.toThrow(/holds no model folders/);
  });

  it('answers an unknown model name as the caller\'s error, listing the models', async () => {
    const dir = mkdtempSync(path.join(root, 'catalog-'));
    writeTinyHashedModel(dir, 'alpha');
    writeTinyTransformerModel(dir, 'beta');
    const catalog = await ModelCatalog.load(dir, 'beta');
    expect(catalog.resolve(null).name).toBe('beta');
    expect(catalog.info().map((m) => [m.name, m.isDefault])).toEqual([['alpha', false], ['beta', true]]);
    try {
      catalog.resolve('gamma');
      throw new Error('expected an error');
    } catch (error) {
      expect((error as SiftError).userError).toBe(true);
      expect((error as SiftError).code).toBe(ErrorCodes.UNKNOWN_MODEL);
      expect((error as SiftError).message).toContain('alpha, beta');
    }
  });
});
