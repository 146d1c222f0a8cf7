import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, setupError, userError } from '../errors';
import { readModelDefinition, type ModelDefinition } from './manifest';

/** What clients see of a model (GraphQL `Model`). */
export interface ModelInfo {
  name: string;
  version: string;
  labels: string[];
  isDefault: boolean;
  maxTextLength: number;
}

/** The models a process serves, by name, and which one is the default. */
export class ModelCatalog {
  private readonly byName: Map<string, ModelDefinition>;

  constructor(readonly definitions: readonly ModelDefinition[], readonly defaultModel: string) {
    this.byName = new Map(definitions.map((d) => [d.name, d]));
    if (!this.byName.has(defaultModel)) {
      throw setupError(
        ErrorCodes.BAD_CONFIG,
        `SIFT_DEFAULT_MODEL=${defaultModel} names no model folder; the models found are: ${this.names().join(', ')}.`,
      );
    }
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The named model, or the default one for `null`/`undefined`; an unknown name is the caller's error. */
  resolve(name?: string | null): ModelDefinition {
    const definition = this.byName.get(name ?? this.defaultModel);
    if (!definition) {
      throw userError(ErrorCodes.UNKNOWN_MODEL, `Unknown model ${JSON.stringify(name)}. Available models: ${this.names().join(', ')}.`, {
        model: name,
      });
    }
    return definition;
  }

  info(): ModelInfo[] {
    return this.definitions.map((d) => ({
      name: d.name,
      version: d.version,
      labels: d.labels,
      isDefault: d.name === this.defaultModel,
      maxTextLength: d.maxTextLength,
    }));
  }

  /**
   * Reads and checks every model folder under `modelsDir` (manifest and files; see manifest.ts).
   * Loading the graphs is left to where the models run (inference threads, or a worker's own
   * thread), which check each graph against its manifest as they load it: once per thread.
   */
  static async load(modelsDir: string, defaultModel: string): Promise<ModelCatalog> {
    const entries = await readdir(modelsDir, { withFileTypes: true }).catch(() => {
      throw setupError(ErrorCodes.BAD_CONFIG, `SIFT_MODELS_DIR=${modelsDir} is not a readable folder; point it at the folder holding model folders (default ./models).`);
    });
    const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => path.join(modelsDir, e.name)).sort();
    if (dirs.length === 0) {
      throw setupError(ErrorCodes.BAD_CONFIG, `SIFT_MODELS_DIR=${modelsDir} holds no model folders; each model is a folder with model.onnx and manifest.json.`);
    }
    return new ModelCatalog(await Promise.all(dirs.map(readModelDefinition)), defaultModel);
  }
}
