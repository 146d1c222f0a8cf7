import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, setupError, SiftError } from '../errors';
import { MANIFEST_FILE, MODEL_FILE, type ModelManifest } from './manifest-types';
import { modelVersion } from './version';

/** Everything known about one model folder before any ONNX session exists: plain data, cloneable to threads. */
export interface ModelDefinition {
  name: string;
  dir: string;
  version: string;
  labels: string[];
  maxTextLength: number;
  manifest: ModelManifest;
}

function broken(file: string, problem: string): SiftError {
  return setupError(ErrorCodes.BAD_MODEL, `Model file ${file} ${problem}`);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw broken(file, 'is missing or unreadable.');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw broken(file, `is not valid JSON: ${(error as Error).message}`);
  }
}

async function requireFile(file: string): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile() || info.size === 0) throw broken(file, 'is missing or empty.');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkLabels(file: string, labels: unknown): string[] {
  if (!Array.isArray(labels) || labels.length < 2 || !labels.every((l) => typeof l === 'string' && l.length > 0)) {
    throw broken(file, 'has no usable labels: expected an array of at least two non-empty strings.');
  }
  if (new Set(labels).size !== labels.length) throw broken(file, 'lists a label twice.');
  return labels as string[];
}

function checkPositiveInteger(file: string, field: string, value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 1) throw broken(file, `needs "${field}" as a whole number above 0.`);
}

/** Labels of a Hugging Face checkpoint, from `config.json` `id2label` ({"0": "NEGATIVE", ...}). */
async function labelsFromConfig(dir: string): Promise<string[]> {
  const file = path.join(dir, 'config.json');
  const config = await readJson(file);
  const id2label = isObject(config) ? config.id2label : undefined;
  if (!isObject(id2label)) throw broken(file, 'has no "id2label" object, and manifest.json lists no "labels".');
  const labels = Object.keys(id2label)
    .map(Number)
    .sort((a, b) => a - b)
    .map((id, position) => {
      if (id !== position) throw broken(file, 'has "id2label" ids that are not 0, 1, 2, ...');
      return id2label[String(id)];
    });
  return checkLabels(file, labels);
}

async function checkManifest(dir: string, file: string, raw: unknown): Promise<{ manifest: ModelManifest; labels: string[] }> {
  if (!isObject(raw)) throw broken(file, 'must hold a JSON object.');
  if (raw.format !== 1) throw broken(file, 'needs "format": 1.');
  checkPositiveInteger(file, 'maxTextLength', raw.maxTextLength);
  const output = raw.output;
  if (!isObject(output) || typeof output.name !== 'string' || (output.kind !== 'logits' && output.kind !== 'probabilities')) {
    throw broken(file, 'needs "output": {"name": "<graph output>", "kind": "logits" | "probabilities"}.');
  }
  const tokenizer = raw.tokenizer;
  const inputs = raw.inputs;
  if (!isObject(tokenizer) || !isObject(inputs)) throw broken(file, 'needs "tokenizer" and "inputs" objects.');
  if (tokenizer.kind === 'hashed-ngrams') {
    for (const field of ['buckets', 'maxNgram', 'maxTokens']) checkPositiveInteger(file, `tokenizer.${field}`, tokenizer[field]);
    if (tokenizer.weighting !== 'binary' && tokenizer.weighting !== 'l2') throw broken(file, 'needs "tokenizer.weighting": "binary" or "l2".');
    if (typeof inputs.ids !== 'string' || typeof inputs.weights !== 'string') throw broken(file, 'needs "inputs": {"ids", "weights"} graph input names.');
    return { manifest: raw as unknown as ModelManifest, labels: checkLabels(file, raw.labels) };
  }
  if (tokenizer.kind === 'huggingface') {
    if (typeof tokenizer.file !== 'string') throw broken(file, 'needs "tokenizer.file", e.g. "tokenizer.json".');
    checkPositiveInteger(file, 'tokenizer.maxLength', tokenizer.maxLength);
    await requireFile(path.join(dir, tokenizer.file));
    if (typeof inputs.inputIds !== 'string' || typeof inputs.attentionMask !== 'string') {
      throw broken(file, 'needs "inputs": {"inputIds", "attentionMask", optional "tokenTypeIds"} graph input names.');
    }
    const labels = raw.labels === undefined ? await labelsFromConfig(dir) : checkLabels(file, raw.labels);
    return { manifest: raw as unknown as ModelManifest, labels };
  }
  throw broken(file, 'needs "tokenizer.kind": "hashed-ngrams" or "huggingface".');
}

/**
 * Reads and checks one model folder. Every problem names the file and what is wrong with it, so a
 * broken model stops start-up with a message the operator can act on.
 */
export async function readModelDefinition(dir: string): Promise<ModelDefinition> {
  const name = path.basename(dir);
  const manifestFile = path.join(dir, MANIFEST_FILE);
  const { manifest, labels } = await checkManifest(dir, manifestFile, await readJson(manifestFile));
  await requireFile(path.join(dir, MODEL_FILE));
  return { name, dir, version: await modelVersion(dir), labels, maxTextLength: manifest.maxTextLength, manifest };
}
