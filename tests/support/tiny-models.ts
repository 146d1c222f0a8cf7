/**
 * Tiny models the tests build for themselves, one per tokenizer kind, with known weights so the
 * tests can compute the expected probabilities by hand:
 * - a hashed n-gram linear model (the bundled models' shape), and
 * - a transformer-shaped classifier with a WordPiece `tokenizer.json` and `config.json` id2label,
 *   laid out like a Hugging Face checkpoint exported to ONNX (int64 input_ids / attention_mask /
 *   token_type_ids in, `logits` out).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hashedFeatures, type HashedNgramsOptions } from '../../src/models/tokenizers/hashed-ngrams';
import { encodeModel, floatTensor, graph, int64Tensor, intAttr, model, node, valueInfo, type GraphParts } from '../../src/training/onnx-graph';

function modelBytes(parts: GraphParts): Uint8Array {
  return encodeModel(model(graph(parts), { producerName: 'sift-tests' }));
}

export const HASHED_OPTIONS: HashedNgramsOptions = { kind: 'hashed-ngrams', buckets: 97, maxNgram: 2, lowercase: true, maxTokens: 64, weighting: 'binary' };
const HASHED_LABELS = ['cold', 'warm', 'hot'];

/** Weight of feature id `f` for label `c` in the tiny hashed model (row 0, padding, is zero). */
export function hashedWeight(f: number, c: number): number {
  return f === 0 ? 0 : Math.sin(f * 7.1 + c * 3.3);
}
const HASHED_BIAS = [0.1, -0.2, 0.05];

/** Reference forward pass of the tiny hashed model, in plain JavaScript. */
export function hashedReference(text: string): number[] {
  const { ids, weights } = hashedFeatures(text, HASHED_OPTIONS);
  const logits = HASHED_BIAS.map((b, c) => ids.reduce((sum, f, i) => sum + weights[i] * hashedWeight(f, c), b));
  return softmax(logits);
}

export function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

function writeFolder(root: string, name: string, files: Record<string, string | Uint8Array>): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(path.join(dir, file), content);
  return dir;
}

export function writeTinyHashedModel(root: string, name = 'tiny-hashed', maxTextLength = 200): string {
  const rows = HASHED_OPTIONS.buckets + 1;
  const table = Float32Array.from({ length: rows * HASHED_LABELS.length }, (_, i) => hashedWeight(Math.floor(i / 3), i % 3));
  const onnx = modelBytes({
    name: 'tiny_hashed',
    inputs: [valueInfo('ids', 'int32', ['rows', 'width']), valueInfo('weights', 'float', ['rows', 'width'])],
    outputs: [valueInfo('logits', 'float', ['rows', HASHED_LABELS.length])],
    initializers: [
      floatTensor('table', [rows, HASHED_LABELS.length], table),
      floatTensor('bias', [HASHED_LABELS.length], Float32Array.from(HASHED_BIAS)),
      int64Tensor('axis2', [1], [2]),
      int64Tensor('axis1', [1], [1]),
    ],
    nodes: [
      node('Gather', ['table', 'ids'], ['embedded'], [intAttr('axis', 0)]),
      node('Unsqueeze', ['weights', 'axis2'], ['weights3']),
      node('Mul', ['embedded', 'weights3'], ['weighted']),
      node('ReduceSum', ['weighted', 'axis1'], ['summed'], [intAttr('keepdims', 0)]),
      node('Add', ['summed', 'bias'], ['logits']),
    ],
  });
  const manifest = {
    format: 1,
    description: 'Test model: three labels, known weights.',
    labels: HASHED_LABELS,
    maxTextLength,
    tokenizer: HASHED_OPTIONS,
    inputs: { ids: 'ids', weights: 'weights' },
    output: { name: 'logits', kind: 'logits' },
  };
  return writeFolder(root, name, { 'model.onnx': onnx, 'manifest.json': JSON.stringify(manifest, null, 2) });
}

/** The tiny transformer's WordPiece vocabulary. Words carry sentiment through their embeddings. */
export const WORDPIECE_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'good', 'great', 'bad', 'awful', 'movie', 'the', 'un', '##fun', '##s'];
const POSITIVE = new Set(['good', 'great']);
const NEGATIVE = new Set(['bad', 'awful', '##fun']);
const DIM = 2;

/** Embedding of a vocabulary entry: [negative evidence, positive evidence]. */
function embedding(token: string): number[] {
  if (POSITIVE.has(token)) return [0, 2];
  if (NEGATIVE.has(token)) return [2, 0];
  return [0.1, 0.1];
}

/** Reference forward pass over token ids and mask (sum of embeddings where mask is 1, plus type bias). */
export function transformerReference(tokens: string[]): number[] {
  const logits = [0, 0];
  for (const token of tokens) embedding(token).forEach((v, i) => (logits[i] += v));
  // token_type embedding: type 0 adds 0.05 to each logit once per token, a visible but harmless term.
  return softmax(logits.map((l) => l + 0.05 * tokens.length));
}

export function wordPieceTokenizerJson(): object {
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '[PAD]'), special(1, '[UNK]'), special(2, '[CLS]'), special(3, '[SEP]')],
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(WORDPIECE_VOCAB.map((token, id) => [token, id])),
    },
  };
}

/**
 * Writes the transformer-shaped model folder. `maxLength` is the manifest's token limit, to test
 * truncation; `labelsInManifest` false leaves the labels to config.json's id2label.
 */
export function writeTinyTransformerModel(root: string, name = 'tiny-transformer', maxLength = 16): string {
  const vocab = WORDPIECE_VOCAB.length;
  const table = Float32Array.from(WORDPIECE_VOCAB.flatMap(embedding));
  const onnx = modelBytes({
    name: 'tiny_transformer',
    inputs: [
      valueInfo('input_ids', 'int64', ['batch', 'sequence']),
      valueInfo('attention_mask', 'int64', ['batch', 'sequence']),
      valueInfo('token_type_ids', 'int64', ['batch', 'sequence']),
    ],
    outputs: [valueInfo('logits', 'float', ['batch', 2])],
    initializers: [
      floatTensor('word_embeddings', [vocab, DIM], table),
      floatTensor('type_embeddings', [2, DIM], Float32Array.from([0.05, 0.05, -0.05, -0.05])),
      int64Tensor('axis2', [1], [2]),
      int64Tensor('axis1', [1], [1]),
    ],
    nodes: [
      node('Gather', ['word_embeddings', 'input_ids'], ['words'], [intAttr('axis', 0)]),
      node('Gather', ['type_embeddings', 'token_type_ids'], ['types'], [intAttr('axis', 0)]),
      node('Add', ['words', 'types'], ['hidden']),
      node('Cast', ['attention_mask'], ['mask_float'], [intAttr('to', 1 /* FLOAT */)]),
      node('Unsqueeze', ['mask_float', 'axis2'], ['mask3']),
      node('Mul', ['hidden', 'mask3'], ['masked']),
      node('ReduceSum', ['masked', 'axis1'], ['logits'], [intAttr('keepdims', 0)]),
    ],
  });
  const manifest = {
    format: 1,
    description: 'Test model shaped like a Hugging Face sequence classifier exported to ONNX.',
    maxTextLength: 500,
    tokenizer: { kind: 'huggingface', file: 'tokenizer.json', maxLength },
    inputs: { inputIds: 'input_ids', attentionMask: 'attention_mask', tokenTypeIds: 'token_type_ids' },
    output: { name: 'logits', kind: 'logits' },
  };
  const config = { architectures: ['TinyForSequenceClassification'], id2label: { '0': 'NEGATIVE', '1': 'POSITIVE' }, label2id: { NEGATIVE: 0, POSITIVE: 1 } };
  return writeFolder(root, name, {
    'model.onnx': onnx,
    'manifest.json': JSON.stringify(manifest, null, 2),
    'tokenizer.json': JSON.stringify(wordPieceTokenizerJson()),
    'config.json': JSON.stringify(config, null, 2),
  });
}

/** A fresh temporary folder holding both tiny models; returns its path. */
export function tinyModelsDir(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'sift-models-'));
  writeTinyHashedModel(root);
  writeTinyTransformerModel(root);
  return root;
}
