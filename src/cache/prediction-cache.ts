import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import type { CacheMetrics } from '../metrics/cache-metrics';
import type { RedisKeys } from '../redis/keys';
import { jsonNumber } from '../formats/json-number';
import { sendBulk } from '../redis/bulk-command';
import { variadicLuaScript } from '../redis/lua-script';

/** Entries one cache write script sets at most (a few milliseconds of Redis's time). */
const WRITE_GROUP = 1000;

/**
 * Reads and writes of at least this many entries (a batch chunk's, or a request's of many texts)
 * go as bulk commands (bulk-command.ts), cheaper to encode; fewer (most online requests') stay
 * auto-pipelined, sent in one write with other requests' commands.
 */
const BULK_ENTRIES = 64;

/** SET key value EX ttl for each key. KEYS: the entries' keys. ARGV: the TTL in seconds, then the values in key order. */
export const setWithTtl = variadicLuaScript(`local ttl = ARGV[1]
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ttl) end
return #KEYS`);

/** The model a cached entry belongs to; its version is part of the key. */
export interface ModelKey {
  name: string;
  version: string;
  /** Its labels, when known: a cached value with another number of scores is a miss. */
  labels?: readonly string[];
}

/**
 * Hash of the exact text: the first TEXT_HASH_LENGTH characters (132 bits) of the base64url
 * SHA-256 of its UTF-16 code units. UTF-16 code units are hashed, not UTF-8 bytes: UTF-8 encoding
 * turns every lone surrogate into U+FFFD, so two different texts would share a key.
 *
 * Why not the whole digest in hex, as releases before this one keyed texts: every key goes to
 * Redis twice per fresh text (a batch chunk's MGET, then its write) and is kept as long as the
 * entry, so its length is bytes on every hop and in memory. 22 characters rather than 64 made
 * keys 59 characters rather than 101 for the bundled sentiment model, and cost a worker 8% less
 * CPU and Redis 8% less in `node dist/bench/worker-cpu.js` (see docs/performance.md). 132 bits
 * keep collisions out of reach: a trillion distinct texts share a key with odds below 1e-15.
 */
export function textHash(text: string): string {
  // One buffer for every text's code units rather than a Buffer each (a worker hashes every text
  // of a chunk: 116-124 ms against 149-170 for 200,000 texts), seen through one view per length,
  // made once, rather than a subarray per text (`node dist/bench/text-hash.js` against the build
  // before: 205-224 ms against 237-254 a pass); the one-shot hash() is faster than createHash()
  // for texts this short (Node 20.12 and later).
  const length = text.length;
  if (length > MAX_SCRATCH_UNITS) return hash('sha256', Buffer.from(text, 'utf16le'), 'base64url').slice(0, TEXT_HASH_LENGTH);
  units.write(text, 0, 'utf16le'); // two bytes a code unit, a lone surrogate's too
  return hash('sha256', (unitViews[length] ??= units.subarray(0, length * 2)), 'base64url').slice(0, TEXT_HASH_LENGTH);
}

/** Characters of a text's hash in its cache key (6 bits each). */
const TEXT_HASH_LENGTH = 22;

/** Texts of up to this many code units are hashed through textHash's scratch space. */
const MAX_SCRATCH_UNITS = 4096;
const units = Buffer.allocUnsafeSlow(MAX_SCRATCH_UNITS * 2);
/** units' first n code units, for each n seen so far. */
const unitViews: Buffer[] = [];

/** What JSON allows between tokens and encodeScores never writes. */
const JSON_WHITESPACE = /[ \t\n\r]/;

/** Characters of the longest number jsonNumber writes for a probability, and a comma (`1.2345678901234567e-300,`). */
const MAX_SCORE_CHARS = 25;

/**
 * Whether a cached value, decoded to `scores`, can go into stored outcomes as it stands rather than
 * encoded again. Sift writes every value with encodeScores, so its own entries always can; another
 * writer may spell a number otherwise (0.10, 9e-1), and the value is copied only where no reader
 * could tell: no whitespace (a reader of stored outcomes, outcome-reader.ts, takes JSON numbers
 * and nulls with nothing between), no longer than encodeScores's longest (the outcomes of every
 * row of a chunk with that text hold a copy), and no two scores equal (a download picks a row's
 * label by comparing the scores' text, where 0.1 and 0.10000000000000001 differ; numerically, as
 * GraphQL and the batch's label counts do, the first of equals wins). A download that echoes
 * nothing (`sift batch`'s) then shows the entry's spelling, the others its numbers formatted.
 */
function copyableJson(value: string, scores: readonly (number | null)[]): boolean {
  if (value.length > MAX_SCORE_CHARS * scores.length + 1 || JSON_WHITESPACE.test(value)) return false;
  // A null score counts as 0 when a label is picked. Pairs for the few labels of most models; a
  // set past that, so that a model of many labels costs no more than a pass.
  if (scores.length > 8) return new Set(scores.map((score) => score ?? 0)).size === scores.length;
  for (let i = 0; i < scores.length; i++) for (let j = i + 1; j < scores.length; j++) if ((scores[i] ?? 0) === (scores[j] ?? 0)) return false;
  return true;
}

/** A cached value: the JSON array of one text's probabilities in label order. */
export function encodeScores(scores: ArrayLike<number>): string {
  // JSON.stringify(Array.from(scores)), written out: no array copy per text (a worker encodes one
  // per fresh prediction).
  let json = '[';
  for (let i = 0; i < scores.length; i++) json += (i === 0 ? '' : ',') + jsonNumber(scores[i]);
  return `${json}]`;
}

/**
 * A cached value's probabilities, or null when the value is not what encodeScores writes (a JSON
 * array of probabilities, each from 0 to 1, null for a non-finite one; with `labels`, one for each
 * of the model's labels): another writer of the shared cache, or a damaged entry, then counts as a
 * miss, and the fresh prediction is written over it, rather than failing every request and batch
 * chunk that holds its text, or answering with a "probability" of 2.
 */
export function decodeScores(value: string, labels?: number): number[] | null {
  let scores: unknown;
  try {
    scores = JSON.parse(value);
  } catch {
    return null;
  }
  if (!Array.isArray(scores) || scores.length === 0 || (labels !== undefined && scores.length !== labels)) return null;
  // JSON.parse gives 1e400 as Infinity (outside the range too); encodeScores writes a non-finite score as null.
  for (const score of scores) if (score !== null && !(typeof score === 'number' && score >= 0 && score <= 1)) return null;
  return scores as number[];
}

/**
 * The prediction cache every Sift process shares through Redis. A value is the JSON array of one
 * text's probabilities in label order. The cache is an optimisation, never a dependency: when Redis
 * fails or is slow, reads are misses and writes are dropped, and callers run the model instead.
 */
export class PredictionCache {
  private lastWarning = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
    /** Counts lookups by model and result (`sift_cache_lookups_total`). */
    private readonly metrics?: CacheMetrics,
  ) {}

  /** Each model's keys up to the text's hash, made once per model object rather than once a text. */
  private readonly keyPrefixes = new WeakMap<ModelKey, string>();

  /** The cache key of one text: hash it once per request and reuse the key for read and write. */
  key(model: ModelKey, text: string): string {
    let prefix = this.keyPrefixes.get(model);
    if (prefix === undefined) this.keyPrefixes.set(model, (prefix = this.keys.prediction(model.name, model.version, '')));
    return prefix + textHash(text);
  }

  /**
   * Cached probabilities for each key (null for a miss, or a value that is not encodeScores's), in
   * one round trip. Each key is one lookup of `model` in `sift_cache_lookups_total` (`unknown` when
   * the caller does not say): a hit only when its value decodes, so a damaged entry, which the
   * caller runs the model for, counts as the miss it is.
   */
  async read(keys: readonly string[], model?: ModelKey): Promise<(number[] | null)[]> {
    return (await this.readEntries(keys, model)).map((entry) => entry?.scores ?? null);
  }

  /**
   * `read`, each hit with its scores as JSON too: the stored value itself when it can stand for
   * them (copyableJson), else encoded again. A batch chunk stores that JSON in its results: copying
   * a hit's value rather than formatting its numbers again saved a worker about a third of its score
   * formatting (String of each score is 0.2 to 0.3 µs).
   */
  async readEntries(keys: readonly string[], model?: ModelKey): Promise<({ scores: number[]; scoresJson: string } | null)[]> {
    if (keys.length === 0) return [];
    const values = await this.readValues(keys, model);
    if (values === null) return keys.map(() => null);
    let hits = 0;
    const entries = values.map((value) => {
      const scores = value === null ? null : decodeScores(value, model?.labels?.length);
      if (scores === null) return null;
      hits++;
      return { scores, scoresJson: copyableJson(value!, scores) ? value! : encodeScores(scores) };
    });
    this.metrics?.answered(model?.name ?? 'unknown', hits, entries.length - hits);
    return entries;
  }

  /** Stores fresh probabilities with the configured TTL, in one command. */
  async write(entries: readonly { key: string; scores: ArrayLike<number> }[]): Promise<void> {
    await this.writeValues(
      entries.map((entry) => entry.key),
      entries.map((entry) => encodeScores(entry.scores)),
    );
  }

  /** Cached values as stored (see `encodeScores`), null for a miss, in one round trip; null when Redis did not answer (each key counted as an error). */
  private async readValues(keys: readonly string[], model?: ModelKey): Promise<(string | null)[] | null> {
    try {
      if (keys.length < BULK_ENTRIES) return await this.redis.mget(keys as string[]);
      return (await sendBulk(this.redis, 'mget', keys)) as (string | null)[];
    } catch (error) {
      this.warn('read', error);
      this.metrics?.failed(model?.name ?? 'unknown', keys.length);
      return null;
    }
  }

  /**
   * Stores `values[i]` (as `encodeScores` made it) under `keys[i]`, with the configured TTL: one
   * script call per WRITE_GROUP entries rather than a SET each. 140,000 entries in groups of 700
   * cost the writer 1.49-1.72 CPU-s as SETs (a command object and a socket write each in ioredis),
   * 0.17-0.24 s as script calls and 0.09-0.12 s as bulk script calls, while Redis spent 0.43-0.46 s
   * on the SETs and 0.49-0.52 s on either kind of script call (`node dist/bench/cache-writes.js`,
   * three alternating rounds).
   * A group is bounded so that no call holds Redis, which every process shares, for long.
   */
  async writeValues(keys: readonly string[], values: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      const writes: Promise<unknown>[] = [];
      for (let start = 0; start < keys.length; start += WRITE_GROUP) {
        const end = Math.min(start + WRITE_GROUP, keys.length);
        const bulk = end - start >= BULK_ENTRIES;
        writes.push(setWithTtl.run(this.redis, keys.slice(start, end), [this.ttlSeconds, ...values.slice(start, end)], { bulk }));
      }
      await Promise.all(writes);
    } catch (error) {
      this.warn('write', error);
    }
  }

  // The connection logs outages itself; this covers slow commands on a live connection.
  private warn(what: string, error: unknown): void {
    if (this.redis.status !== 'ready' || Date.now() - this.lastWarning < 30_000) return;
    this.lastWarning = Date.now();
    this.logger.warn(`cache ${what} failed (${(error as Error).message}); answering without the cache.`);
  }
}
