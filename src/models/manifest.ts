import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, setupError, SiftError } from '../errors';
import { isHashedNgramsManifest, MANIFEST_FILE, MODEL_FILE, parseId2Label, parseManifest, type ModelManifest } from './manifest-schema';
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

/** Runs a check that throws its problem as a message, naming the file it is about. */
function checked<T>(file: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw broken(file, `is not usable: ${(error as Error).message}.`);
  }
}

/** Labels of a Hugging Face checkpoint, from its `config.json`. */
async function labelsFromConfig(file: string): Promise<string[]> {
  const config = await readJson(file);
  return checked(file, () => parseId2Label(config));
}

/**
 * Reads and checks one model folder (manifest.json, model.onnx and a transformer's tokenizer and
 * labels). Every problem names the file and what is wrong with it, so a broken model stops
 * start-up with a message the operator can act on. Whether the graph loads and fits the manifest
 * is checked where the model is loaded to run (ModelRunner.load), once per thread.
 */
export async function readModelDefinition(dir: string): Promise<ModelDefinition> {
  const name = path.basename(dir);
  const manifestFile = path.join(dir, MANIFEST_FILE);
  const raw = await readJson(manifestFile);
  const manifest = checked(manifestFile, () => parseManifest(raw));
  let labels: string[];
  if (isHashedNgramsManifest(manifest)) {
    labels = manifest.labels;
  } else {
    await requireFile(path.join(dir, manifest.tokenizer.file));
    labels = manifest.labels ?? (await labelsFromConfig(path.join(dir, 'config.json')));
  }
  await requireFile(path.join(dir, MODEL_FILE));
  return { name, dir, version: await modelVersion(dir), labels, maxTextLength: manifest.maxTextLength, manifest };
}
