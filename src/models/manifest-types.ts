import type { HashedNgramsOptions } from './tokenizers/hashed-ngrams';

/** File names inside a model folder `models/<name>/`. */
export const MODEL_FILE = 'model.onnx';
export const MANIFEST_FILE = 'manifest.json';

/** Which output of the ONNX graph holds the scores, and whether softmax is still to be applied. */
export interface ManifestOutput {
  name: string;
  kind: 'logits' | 'probabilities';
}

/** Tokenizer options of a Hugging Face transformer classifier exported to ONNX. */
export interface HuggingFaceTokenizerOptions {
  kind: 'huggingface';
  /** The `tokenizer.json` of the checkpoint, relative to the model folder. */
  file: string;
  /** Optional `tokenizer_config.json`, relative to the model folder. */
  configFile?: string;
  /** Tokens per text at most (the model's position limit); longer texts are truncated. */
  maxLength: number;
}

export interface HashedNgramsManifest {
  format: 1;
  description?: string;
  labels: string[];
  maxTextLength: number;
  tokenizer: HashedNgramsOptions;
  /** Graph inputs: int32 [rows, width] feature ids and float32 [rows, width] weights. */
  inputs: { ids: string; weights: string };
  output: ManifestOutput;
}

export interface HuggingFaceManifest {
  format: 1;
  description?: string;
  /** Labels by class index; when absent they come from `config.json` `id2label`. */
  labels?: string[];
  maxTextLength: number;
  tokenizer: HuggingFaceTokenizerOptions;
  /** Graph inputs: int64 [rows, tokens] each; `tokenTypeIds` only when the graph takes it. */
  inputs: { inputIds: string; attentionMask: string; tokenTypeIds?: string };
  output: ManifestOutput;
}

export type ModelManifest = HashedNgramsManifest | HuggingFaceManifest;
