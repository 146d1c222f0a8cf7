import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tensor } from 'onnxruntime-node';
import type { ModelDefinition } from './manifest';
import { isHashedNgramsManifest, type HashedNgramsManifest, type HuggingFaceManifest } from './manifest-schema';
import { HashedFeaturizer } from './tokenizers/hashed-ngrams';
import { HuggingFaceTokenizer } from './tokenizers/huggingface';

/** Turns texts into the named input tensors of a model's ONNX graph. */
export type FeedBuilder = (texts: readonly string[]) => Record<string, Tensor>;

function hashedFeeds(manifest: HashedNgramsManifest): FeedBuilder {
  const featurizer = new HashedFeaturizer(manifest.tokenizer);
  return (texts) => {
    const { ids, weights, width } = featurizer.pack(texts);
    return {
      [manifest.inputs.ids]: new Tensor('int32', ids, [texts.length, width]),
      [manifest.inputs.weights]: new Tensor('float32', weights, [texts.length, width]),
    };
  };
}

function huggingFaceFeeds(dir: string, manifest: HuggingFaceManifest): FeedBuilder {
  const { tokenizer: options, inputs } = manifest;
  const tokenizerJson = JSON.parse(readFileSync(path.join(dir, options.file), 'utf8'));
  const tokenizerConfig = options.configFile ? JSON.parse(readFileSync(path.join(dir, options.configFile), 'utf8')) : {};
  const tokenizer = new HuggingFaceTokenizer(tokenizerJson, tokenizerConfig, options.maxLength);
  return (texts) => {
    const encoded = texts.map((text) => tokenizer.encode(text));
    const width = Math.max(1, ...encoded.map((e) => e.inputIds.length));
    const size = texts.length * width;
    // Transformer graphs exported from PyTorch take int64 ids; padding positions get mask 0.
    const ids = new BigInt64Array(size).fill(BigInt(tokenizer.padId));
    const mask = new BigInt64Array(size);
    const types = new BigInt64Array(size);
    encoded.forEach((e, row) => {
      const offset = row * width;
      e.inputIds.forEach((id, i) => {
        ids[offset + i] = BigInt(id);
        mask[offset + i] = BigInt(e.attentionMask[i]);
        types[offset + i] = BigInt(e.tokenTypeIds[i] ?? 0);
      });
    });
    const dims = [texts.length, width];
    const feeds: Record<string, Tensor> = {
      [inputs.inputIds]: new Tensor('int64', ids, dims),
      [inputs.attentionMask]: new Tensor('int64', mask, dims),
    };
    if (inputs.tokenTypeIds) feeds[inputs.tokenTypeIds] = new Tensor('int64', types, dims);
    return feeds;
  };
}

export function createFeedBuilder(definition: ModelDefinition): FeedBuilder {
  const manifest = definition.manifest;
  return isHashedNgramsManifest(manifest) ? hashedFeeds(manifest) : huggingFaceFeeds(definition.dir, manifest);
}
