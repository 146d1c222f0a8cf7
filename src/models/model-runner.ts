import path from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { ErrorCodes, setupError } from '../errors';
import { createFeedBuilder, type FeedBuilder } from './feeds';
import type { ModelDefinition } from './manifest';
import { MODEL_FILE } from './manifest-schema';

/**
 * ONNX Runtime execution providers Sift can ask for, in order of preference. `cpu` ships inside
 * onnxruntime-node; `cuda` and `tensorrt` need its CUDA build (docs/models.md) and an NVIDIA GPU,
 * `dml` Windows, `coreml` macOS.
 */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** How sessions are created: the same for every model a process loads. */
export interface RuntimeOptions {
  /** Threads one run may use inside ONNX Runtime (default 1: Sift runs models on several threads of its own). */
  intraOpThreads?: number;
  /** Execution providers in order of preference (default: cpu). */
  executionProviders?: readonly ExecutionProvider[];
}

/** Probabilities of `rows` texts, `labels` values a row, row after row. */
export interface ScoreMatrix {
  rows: number;
  labels: number;
  values: Float32Array;
}

/**
 * A graph's own probabilities, each brought into 0..1: float rounding can leave one a hair outside
 * (1.0000001), which a client would get as a score above 1 and the shared cache, which keeps only
 * probabilities (decodeScores), would refuse on every read. NaN stays NaN (encoded as null).
 */
function clampProbabilities(values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    if (values[i] > 1) values[i] = 1;
    else if (values[i] < 0) values[i] = 0;
  }
}

function softmaxRows(values: Float32Array, width: number): void {
  for (let start = 0; start < values.length; start += width) {
    let max = -Infinity;
    for (let i = start; i < start + width; i++) max = Math.max(max, values[i]);
    let sum = 0;
    for (let i = start; i < start + width; i++) sum += values[i] = Math.exp(values[i] - max);
    for (let i = start; i < start + width; i++) values[i] /= sum;
  }
}

/**
 * One loaded model: its ONNX session and tokenizer, run on the calling thread.
 * `InferenceSession.run` blocks the thread it is called on, so a process that also serves requests
 * runs this inside worker threads (see `InferencePool`).
 */
export class ModelRunner {
  private constructor(
    readonly definition: ModelDefinition,
    private readonly session: InferenceSession,
    private readonly buildFeeds: FeedBuilder,
  ) {}

  /**
   * Creates the session and checks the graph against the manifest: the inputs and output it names
   * must exist, and a trial text must give one score per label.
   */
  static async load(definition: ModelDefinition, options: RuntimeOptions = {}): Promise<ModelRunner> {
    const file = path.join(definition.dir, MODEL_FILE);
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(file, {
        intraOpNumThreads: options.intraOpThreads ?? 1,
        interOpNumThreads: 1,
        executionProviders: [...(options.executionProviders ?? ['cpu'])],
      });
    } catch (error) {
      const message = (error as Error).message.split('\n')[0];
      const providers = options.executionProviders ?? ['cpu'];
      if (/ExecutionProvider/i.test(message) && providers.some((p) => p !== 'cpu')) {
        throw setupError(
          ErrorCodes.BAD_CONFIG,
          `ONNX Runtime cannot use the execution providers SIFT_EXECUTION_PROVIDERS=${providers.join(',')} asks for (${message}). Install onnxruntime-node's build for them (docs/models.md), or set SIFT_EXECUTION_PROVIDERS=cpu.`,
        );
      }
      throw setupError(ErrorCodes.BAD_MODEL, `Model file ${file} cannot be loaded by ONNX Runtime: ${message}`);
    }
    const runner = new ModelRunner(definition, session, createFeedBuilder(definition));
    await runner.check(file);
    return runner;
  }

  private async check(file: string): Promise<void> {
    const { manifest, labels } = this.definition;
    const wanted = Object.values(manifest.inputs).filter((name): name is string => typeof name === 'string');
    const missing = wanted.filter((name) => !this.session.inputNames.includes(name));
    if (missing.length > 0) {
      throw setupError(ErrorCodes.BAD_MODEL, `Model file ${file} has no input named ${missing.join(', ')} (it has ${this.session.inputNames.join(', ')}); fix "inputs" in manifest.json.`);
    }
    if (!this.session.outputNames.includes(manifest.output.name)) {
      throw setupError(ErrorCodes.BAD_MODEL, `Model file ${file} has no output named ${manifest.output.name} (it has ${this.session.outputNames.join(', ')}); fix "output" in manifest.json.`);
    }
    let trial: ScoreMatrix;
    try {
      trial = await this.score(['a trial text']);
    } catch (error) {
      throw setupError(ErrorCodes.BAD_MODEL, `Model file ${file} fails on a trial text: ${(error as Error).message}`);
    }
    if (trial.labels !== labels.length) {
      throw setupError(ErrorCodes.BAD_MODEL, `Model file ${file} gives ${trial.labels} scores a text but its manifest lists ${labels.length} labels.`);
    }
  }

  /** Tokenizes and runs the texts as one batch; returns softmax probabilities. */
  async score(texts: readonly string[]): Promise<ScoreMatrix> {
    const { output } = this.definition.manifest;
    const results = await this.session.run(this.buildFeeds(texts));
    const tensor = results[output.name];
    if (tensor.type !== 'float32' || tensor.dims.length !== 2 || tensor.dims[0] !== texts.length) {
      throw new Error(`output ${output.name} is ${tensor.type} [${tensor.dims.join(', ')}], expected float32 [${texts.length}, labels]`);
    }
    const labels = Number(tensor.dims[1]);
    const values = new Float32Array(tensor.data as Float32Array);
    if (output.kind === 'logits') softmaxRows(values, labels);
    else clampProbabilities(values);
    return { rows: texts.length, labels, values };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
