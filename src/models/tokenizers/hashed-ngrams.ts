import type { HashedNgramsOptions } from '../manifest-schema';
import { asciiTokenHashes } from './ascii-tokens';
import { FNV_OFFSET_BASIS, FNV_PRIME, fnv1aUpdate, fnv1aWordJoined } from './fnv';
import { wordTokens } from './words';

export { fnv1a } from './fnv';

/** Options of the bundled models' tokenizer, as a model's manifest.json gives them (the schema declares them). */
export type { HashedNgramsOptions };

/** The sparse features of one text: distinct feature ids and their weights, same length. */
export interface SparseFeatures {
  ids: number[];
  weights: number[];
}

/** Several texts' features as the padded [rows, width] tensors an ONNX graph takes. */
export interface PackedFeatures {
  ids: Int32Array;
  weights: Float32Array;
  width: number;
}

/** An ASCII capital's lower case when `lowercase`; any other code as it is. */
function lowered(code: number, lowercase: boolean): number {
  return lowercase && code >= 0x41 && code <= 0x5a ? code + 0x20 : code;
}

/** FNV-1a state after `text[start, end)` is fed on from `hash`, ASCII capitals lower-cased when `lowercase`. */
function fnv1aUpdateRange(hash: number, text: string, start: number, end: number, lowercase: boolean): number {
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ lowered(text.charCodeAt(i), lowercase), FNV_PRIME);
  return hash;
}

/**
 * The hashed word n-grams of texts: the distinct n-grams of a text, unigrams first, then bigrams,
 * ... each in text order, as ids from 1 to `buckets`. An n-gram is its words joined by one space;
 * its hash is computed by feeding on the hash of its first n-1 words, which gives the same value
 * without building the string.
 *
 * Featurizing is most of a bundled model's run time, so one featurizer per model keeps its
 * scratch space and most texts (ASCII without an apostrophe) are split by offsets, not into
 * strings, their tokens hashed as they are split (`asciiTokenHashes`). The order of ids matters
 * beyond the set: ONNX Runtime sums the weights in that order, and the bundled models' outputs are
 * recorded to the last bits (tests/models/golden).
 */
export class HashedFeaturizer {
  /** Each token's offsets and hashes, grown as texts need (see asciiTokenHashes). */
  private readonly scratch = { starts: new Int32Array(64), ends: new Int32Array(64), unigrams: new Int32Array(64), states: new Int32Array(64) };
  private readonly seen = new OrderedIdSet();

  constructor(private readonly options: HashedNgramsOptions) {}

  /** One text's features as plain arrays (training, tests). */
  features(text: string): SparseFeatures {
    const count = this.collect(text);
    const ids = Array.from(this.seen.ids.subarray(0, count));
    return { ids, weights: new Array<number>(count).fill(this.weight(count)) };
  }

  /**
   * Packs several texts' features into padded tensors; padding is id 0 with weight 0, so it adds
   * nothing. Ids are copied element by element, not through `set` of a `subarray`: a view is an
   * object on the heap, two a text, and a text's few dozen ids copy faster than a view is made.
   */
  pack(texts: readonly string[]): PackedFeatures {
    let all = new Int32Array(Math.max(64, texts.length * 32));
    const counts = new Int32Array(texts.length);
    let used = 0;
    let width = 1;
    for (let row = 0; row < texts.length; row++) {
      const count = this.collect(texts[row]);
      if (used + count > all.length) all = grown(all, used + count);
      const seen = this.seen.ids;
      for (let k = 0; k < count; k++) all[used + k] = seen[k];
      used += count;
      counts[row] = count;
      if (count > width) width = count;
    }
    const ids = new Int32Array(texts.length * width);
    const weights = new Float32Array(texts.length * width);
    for (let row = 0, from = 0; row < texts.length; row++) {
      const count = counts[row];
      const at = row * width;
      for (let k = 0; k < count; k++) ids[at + k] = all[from + k];
      weights.fill(this.weight(count), at, at + count);
      from += count;
    }
    return { ids, weights, width };
  }

  private weight(count: number): number {
    return this.options.weighting === 'l2' && count > 0 ? 1 / Math.sqrt(count) : 1;
  }

  /** Puts the text's distinct ids, in order, in `seen`; returns how many. */
  private collect(text: string): number {
    const { maxTokens, maxNgram, buckets, lowercase } = this.options;
    this.seen.clear();
    // An ASCII text has at most one token per character.
    const room = Math.min(maxTokens, text.length);
    if (room > this.scratch.starts.length) this.makeRoom(room);
    const spans = asciiTokenHashes(text, maxTokens, lowercase, maxNgram > 1, this.scratch);
    const words = spans < 0 ? wordTokens(text, lowercase, maxTokens) : null;
    const tokens = words ? words.length : spans;
    // NFKC can turn one character into several tokens ('⑴' is "( 1 )").
    if (tokens > this.scratch.states.length) this.makeRoom(tokens);
    // unigrams[w]: hash of word w; states[start]: hash of the n words from `start`, for the n of
    // the pass (bigrams after the first).
    const { unigrams, states, starts, ends } = this.scratch;
    if (words) this.wordPairHashes(words, maxNgram > 1);
    for (let w = 0; w < tokens; w++) this.seen.add(1 + bucketOf(unigrams[w], buckets));
    if (maxNgram > 1) for (let start = 0; start + 1 < tokens; start++) this.seen.add(1 + bucketOf(states[start], buckets));
    for (let n = 3; n <= maxNgram; n++) {
      for (let start = 0; start + n <= tokens; start++) {
        const last = start + n - 1;
        const state = fnv1aWordJoined(states[start]);
        states[start] = words ? fnv1aUpdate(state, words[last]) : fnv1aUpdateRange(state, text, starts[last], ends[last], lowercase);
        this.seen.add(1 + bucketOf(states[start], buckets));
      }
    }
    return this.seen.size;
  }

  /**
   * The unigram hash of every word into `unigrams` and, with `pairs`, the bigram hash of every pair
   * into `states`, in one pass over each word's characters (texts the regular expressions split;
   * asciiTokenHashes does the same as it splits the others).
   */
  private wordPairHashes(words: readonly string[], pairs: boolean): void {
    const { unigrams, states } = this.scratch;
    for (let w = 0; w < words.length; w++) {
      const word = words[w];
      let unigram = FNV_OFFSET_BASIS;
      if (!pairs || w === 0) {
        unigram = fnv1aUpdate(unigram, word);
      } else {
        let bigram = fnv1aWordJoined(unigrams[w - 1]);
        for (let i = 0; i < word.length; i++) {
          const code = word.charCodeAt(i);
          unigram = Math.imul(unigram ^ code, FNV_PRIME);
          bigram = Math.imul(bigram ^ code, FNV_PRIME);
        }
        states[w - 1] = bigram;
      }
      unigrams[w] = unigram;
    }
  }

  private makeRoom(tokens: number): void {
    const scratch = this.scratch;
    if (tokens > scratch.starts.length) {
      scratch.starts = new Int32Array(tokens);
      scratch.ends = new Int32Array(tokens);
    }
    scratch.states = new Int32Array(Math.max(tokens, scratch.states.length));
    scratch.unigrams = new Int32Array(scratch.states.length);
  }
}

/**
 * `(hash >>> 0) % buckets`, computed without `%`: an unsigned 32-bit value does not fit V8's small
 * integers, so `%` on it is a floating-point remainder (a call to fmod), once per n-gram. For a
 * power of two (the bundled models' 2^21) a mask gives the same; otherwise the floor of the
 * quotient is exact (a quotient below 2^32 is at least 1/buckets from the next integer, far more
 * than its rounding error), and so is the product subtracted.
 */
function bucketOf(hash: number, buckets: number): number {
  const unsigned = hash >>> 0;
  if ((buckets & (buckets - 1)) === 0 && buckets <= 0x40000000) return unsigned & (buckets - 1);
  return unsigned - Math.floor(unsigned / buckets) * buckets;
}

/** One text's features with a featurizer of its own (training and tests; models keep one). */
export function hashedFeatures(text: string, options: HashedNgramsOptions): SparseFeatures {
  return new HashedFeaturizer(options).features(text);
}

function grown(array: Int32Array, needed: number): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(Math.max(needed, array.length * 2));
  bigger.set(array);
  return bigger;
}

/**
 * A set of positive int32 ids that remembers insertion order, cleared in O(1): an open-addressing
 * table whose slots count as empty unless stamped with the current generation.
 */
class OrderedIdSet {
  ids = new Int32Array(64);
  size = 0;
  private slots = new Int32Array(256);
  private stamps = new Int32Array(256);
  private generation = 1;

  clear(): void {
    this.size = 0;
    if (++this.generation === 0x7fffffff) {
      this.stamps.fill(0);
      this.generation = 1;
    }
  }

  add(id: number): void {
    const mask = this.slots.length - 1;
    // Ids are hashes already; the multiply spreads ids that differ only in their high bits.
    let slot = Math.imul(id, 0x9e3779b1) & mask;
    while (this.stamps[slot] === this.generation) {
      if (this.slots[slot] === id) return;
      slot = (slot + 1) & mask;
    }
    this.stamps[slot] = this.generation;
    this.slots[slot] = id;
    if (this.size === this.ids.length) this.ids = grown(this.ids, this.size + 1);
    this.ids[this.size++] = id;
    // At most half full keeps probes short.
    if (this.size * 2 > this.slots.length) this.rehash();
  }

  private rehash(): void {
    const capacity = this.slots.length * 2;
    this.slots = new Int32Array(capacity);
    this.stamps = new Int32Array(capacity);
    const mask = capacity - 1;
    for (let i = 0; i < this.size; i++) {
      let slot = Math.imul(this.ids[i], 0x9e3779b1) & mask;
      while (this.stamps[slot] === this.generation) slot = (slot + 1) & mask;
      this.stamps[slot] = this.generation;
      this.slots[slot] = this.ids[i];
    }
  }
}
