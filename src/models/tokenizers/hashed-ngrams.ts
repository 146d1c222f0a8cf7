import type { HashedNgramsOptions } from '../manifest-schema';
import { wordTokens } from './words';

/** Options of the bundled models' tokenizer, as a model's manifest.json gives them (the schema declares them). */
export type { HashedNgramsOptions };

/** The sparse features of one text: distinct feature ids and their weights, same length. */
export interface SparseFeatures {
  ids: number[];
  weights: number[];
}

/**
 * 32-bit FNV-1a over UTF-16 code units. Stable across platforms and releases (it is part of every
 * bundled model), and defined for any string, lone surrogates included.
 */
export function fnv1a(text: string): number {
  return fnv1aUpdate(FNV_OFFSET_BASIS, text) >>> 0;
}

const FNV_OFFSET_BASIS = 0x811c9dc5;
const SPACE = ' ';

/** FNV-1a state after `text` is fed on from state `hash` (an int32). */
function fnv1aUpdate(hash: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash;
}

/**
 * The distinct hashed n-grams of a text, unigrams first, then bigrams, ... each in text order. An
 * n-gram is its words joined by one space; its hash is computed by feeding on the hash of its
 * first n-1 words, which gives the same value without building the string.
 */
export function hashedFeatures(text: string, options: HashedNgramsOptions): SparseFeatures {
  const tokens = wordTokens(text, options.lowercase, options.maxTokens);
  const seen = new Set<number>();
  // states[start]: hash of the n words from `start`, for the n of the current pass.
  const states = tokens.map((token) => fnv1aUpdate(FNV_OFFSET_BASIS, token));
  for (let n = 1; n <= options.maxNgram; n++) {
    for (let start = 0; start + n <= tokens.length; start++) {
      if (n > 1) states[start] = fnv1aUpdate(fnv1aUpdate(states[start], SPACE), tokens[start + n - 1]);
      seen.add(1 + ((states[start] >>> 0) % options.buckets));
    }
  }
  const ids = [...seen];
  const weight = options.weighting === 'l2' && ids.length > 0 ? 1 / Math.sqrt(ids.length) : 1;
  return { ids, weights: new Array<number>(ids.length).fill(weight) };
}

/**
 * Packs the features of several texts into the padded [rows, width] tensors the ONNX graph takes.
 * Padding uses id 0 with weight 0, so it adds nothing.
 */
export function packFeatures(rows: SparseFeatures[]): { ids: Int32Array; weights: Float32Array; width: number } {
  const width = Math.max(1, ...rows.map((row) => row.ids.length));
  const ids = new Int32Array(rows.length * width);
  const weights = new Float32Array(rows.length * width);
  rows.forEach((row, r) => {
    ids.set(row.ids, r * width);
    weights.set(row.weights, r * width);
  });
  return { ids, weights, width };
}
