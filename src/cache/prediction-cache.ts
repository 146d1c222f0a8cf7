import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import type { CacheMetrics } from '../metrics/cache-metrics';
import type { RedisKeys } from '../redis/keys';
import { jsonNumber } from '../formats/json-number';
import { encodeArgs, sendBulk } from '../redis/bulk-command';
import { CacheWindows, SHARDS, shardOf, WINDOWS_READ } from './cache-windows';

/** Fields one HSET of the cache sets at most (a few milliseconds of Redis's time). */
const WRITE_GROUP = 1000;

/**
 * An HMGET or HSET of at least this many fields (a shard's share of a batch chunk's texts, or of a
 * request's many) goes as a bulk command (bulk-command.ts), cheaper to encode; one of fewer (most
 * online requests') stays auto-pipelined, sent in one write with other requests' commands.
 */
const BULK_ENTRIES = 64;

/** The model a cached entry belongs to; its version is part of the key. */
export interface ModelKey {
  name: string;
  version: string;
  /** Its labels, when known: a cached value with another number of scores is a miss. */
  labels?: readonly string[];
}

/**
 * Hash of the exact text, its entry's field in the cache's hashes: the first TEXT_HASH_LENGTH
 * characters (132 bits) of the base64url SHA-256 of its UTF-16 code units. UTF-16 code units are
 * hashed, not UTF-8 bytes: UTF-8 encoding turns every lone surrogate into U+FFFD, so two different
 * texts would share an entry. A cryptographic hash, as the cache is shared by every API key: no
 * client can make its text's entry answer for another text.
 *
 * Why not the whole digest in hex, as early releases keyed texts: every hash goes to Redis twice
 * per fresh text (a batch chunk's read, then its write) and is kept as long as the entry, so its
 * length is bytes on every hop and in memory. 22 characters rather than 64 cost a worker 8% less
 * CPU and Redis 8% less in `node dist/bench/worker-cpu.js` (see docs/performance.md). 132 bits
 * keep collisions out of reach: a trillion distinct texts share a hash with odds below 1e-15.
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
 * text's probabilities in label order, kept as a field of its window's hash (cache-windows.ts). The
 * cache is an optimisation, never a dependency: when Redis fails or is slow, reads are misses and
 * writes are dropped, and callers run the model instead.
 *
 * An entry is named by its model version and its text's hash (textHash): hash a text once per
 * request and use the hash for the read and the write.
 */
export class PredictionCache {
  private lastWarning = 0;
  private readonly windows: CacheWindows;
  /** The last window whose hashes this process unlinked, by model prefix. */
  private readonly retired = new Map<string, number>();
  /** Each model's keys up to the window, made once per model object rather than once a text. */
  private readonly keyPrefixes = new WeakMap<ModelKey, string>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    ttlSeconds: number,
    private readonly logger: Logger,
    /** Counts lookups by model and result (`sift_cache_lookups_total`). */
    private readonly metrics?: CacheMetrics,
    /** The clock windows are told by (tests move it). */
    now: () => number = Date.now,
  ) {
    this.windows = new CacheWindows(ttlSeconds, now);
  }

  /**
   * Cached probabilities for each text's hash (null for a miss, or a value that is not
   * encodeScores's), in one round trip. Each hash is one lookup of `model` in
   * `sift_cache_lookups_total`: a hit only when its value decodes, so a damaged entry, which the
   * caller runs the model for, counts as the miss it is. A model with `labels` takes a value with
   * another number of scores for a miss.
   */
  async read(model: ModelKey, hashes: readonly string[]): Promise<(number[] | null)[]> {
    return (await this.readEntries(model, hashes)).map((entry) => entry?.scores ?? null);
  }

  /**
   * `read`, each hit with its scores as JSON too: the stored value itself when it can stand for
   * them (copyableJson), else encoded again. A batch chunk stores that JSON in its results: copying
   * a hit's value rather than formatting its numbers again saved a worker about a third of its score
   * formatting (String of each score is 0.2 to 0.3 µs).
   */
  async readEntries(model: ModelKey, hashes: readonly string[]): Promise<({ scores: number[]; scoresJson: string } | null)[]> {
    if (hashes.length === 0) return [];
    const values = await this.readValues(model, hashes);
    let hits = 0;
    let failed = 0;
    const entries = values.map((value) => {
      if (value === undefined) failed++;
      const scores = value == null ? null : decodeScores(value, model.labels?.length);
      if (scores === null) return null;
      hits++;
      return { scores, scoresJson: copyableJson(value!, scores) ? value! : encodeScores(scores) };
    });
    if (failed > 0) this.metrics?.failed(model.name, failed);
    if (failed < entries.length) this.metrics?.answered(model.name, hits, entries.length - hits - failed);
    return entries;
  }

  /** Stores fresh probabilities in the current window. */
  async write(model: ModelKey, entries: readonly { hash: string; scores: ArrayLike<number> }[]): Promise<void> {
    await this.writeValues(
      model,
      entries.map((entry) => entry.hash),
      entries.map((entry) => encodeScores(entry.scores)),
    );
  }

  /**
   * Cached values as stored (see `encodeScores`), null for a miss, in one round trip: an HMGET of
   * each shard's fields in each window read, the newest window's value first. Undefined for the
   * texts of a shard Redis did not answer in some window (each counted as an error): a slow Redis,
   * or a key of the cache's names holding something else than a hash, costs those texts a model
   * run, not every text of the read.
   */
  private async readValues(model: ModelKey, hashes: readonly string[]): Promise<(string | null | undefined)[]> {
    const prefix = this.prefixOf(model);
    const window = this.windows.current();
    this.retire(prefix, window);
    const shards = byShard(hashes);
    const replies: Promise<(string | null)[]>[] = [];
    for (const { shard, fields } of shards) {
      // Each window is asked for the same fields: encoded once for the three.
      const encoded = fields.length < BULK_ENTRIES ? null : encodeArgs(fields);
      for (let back = 0; back < WINDOWS_READ; back++) {
        const key = this.windows.key(prefix, window - back, shard);
        replies.push(encoded === null ? this.redis.hmget(key, ...fields) : (sendBulk(this.redis, 'hmget', [key], encoded) as Promise<(string | null)[]>));
      }
    }
    const answered = await Promise.allSettled(replies);
    const values = new Array<string | null | undefined>(hashes.length).fill(null);
    let reply = 0;
    for (const { positions } of shards) {
      let failed = false;
      for (let back = 0; back < WINDOWS_READ; back++) {
        const outcome = answered[reply++];
        if (outcome.status === 'rejected') {
          this.warn('read', outcome.reason);
          failed = true;
          continue;
        }
        const found = outcome.value;
        for (let i = 0; i < positions.length; i++) if (found[i] !== null && values[positions[i]] === null) values[positions[i]] = found[i];
      }
      // A text found in a window that answered is a hit (any window's value is the model's answer);
      // one found in none, where a window did not answer, is an error, not a miss.
      if (failed) for (const position of positions) if (values[position] === null) values[position] = undefined;
    }
    return values;
  }

  /**
   * Stores `values[i]` (as `encodeScores` made it) for the text whose hash is `hashes[i]`, in the
   * current window: an HSET per shard and WRITE_GROUP fields, each followed by the window's expiry
   * (not a script, which cost Redis about as much as a SET per entry). A group is bounded so that
   * no command holds Redis, which every process shares, for long.
   */
  async writeValues(model: ModelKey, hashes: readonly string[], values: readonly string[]): Promise<void> {
    if (hashes.length === 0) return;
    const prefix = this.prefixOf(model);
    const window = this.windows.current();
    this.retire(prefix, window);
    const expiresAt = this.windows.expiresAt(window);
    try {
      const writes: Promise<unknown>[] = [];
      for (const { shard, fields, positions } of byShard(hashes)) {
        const key = this.windows.key(prefix, window, shard);
        for (let start = 0; start < fields.length; start += WRITE_GROUP) {
          const end = Math.min(start + WRITE_GROUP, fields.length);
          const args = new Array<string>(2 * (end - start) + 1);
          args[0] = key;
          for (let i = start; i < end; i++) {
            args[1 + 2 * (i - start)] = fields[i];
            args[2 + 2 * (i - start)] = values[positions[i]];
          }
          // A bulk HSET is written at once, outside auto-pipelining (bulk-command.ts): its expiry is
          // sent the same way right after it, so that the two leave in one turn of the event loop.
          const bulk = end - start >= BULK_ENTRIES;
          writes.push(this.healing(key, bulk ? sendBulk(this.redis, 'hset', args) : this.redis.hset(key, ...args.slice(1))));
          writes.push(bulk ? sendBulk(this.redis, 'pexpireat', [key, expiresAt]) : this.redis.pexpireat(key, expiresAt));
        }
      }
      await Promise.all(writes);
    } catch (error) {
      this.warn('write', error);
    }
  }

  /**
   * `write`, and when Redis refused it for the key's type (the cache's name holding something
   * else than a hash: a hand, another program), the key unlinked, so that the next write of its
   * window and shard makes it again rather than every read and write of them failing until the
   * window is retired.
   */
  private healing(key: string, write: Promise<unknown>): Promise<unknown> {
    return write.catch((error: Error) => {
      if (/^WRONGTYPE/.test(error.message)) {
        this.logger.warn(`cache: ${key} held something else than a hash; removed, so that the cache writes there again`);
        void this.redis.unlink(key).catch(() => undefined);
      }
      throw error;
    });
  }

  /** A model version's keys up to the window (`pred:model:version:`). */
  private prefixOf(model: ModelKey): string {
    let prefix = this.keyPrefixes.get(model);
    if (prefix === undefined) this.keyPrefixes.set(model, (prefix = this.keys.prediction(model.name, model.version, '')));
    return prefix;
  }

  /**
   * Unlinks the hashes of the window that `window` puts out of reach, once per process and model
   * prefix: Redis frees them in the background (their expiry would free them in the foreground).
   * Another process may have done it already, which costs nothing.
   */
  private retire(prefix: string, window: number): void {
    const old = this.windows.retiredBy(window);
    if ((this.retired.get(prefix) ?? -Infinity) >= old) return;
    this.retired.set(prefix, old);
    const keys = Array.from({ length: SHARDS }, (_, shard) => this.windows.key(prefix, old, shard));
    // Best effort: a Redis that refuses UNLINK (an ACL) leaves them to their expiry.
    this.redis.unlink(...keys).catch((error: Error) => this.logger.debug(`cache: unlinking a window out of reach failed (${error.message})`));
  }

  // The connection logs outages itself; this covers slow commands on a live connection.
  private warn(what: string, error: unknown): void {
    if (this.redis.status !== 'ready' || Date.now() - this.lastWarning < 30_000) return;
    this.lastWarning = Date.now();
    this.logger.warn(`cache ${what} failed (${(error as Error).message}); answering without the cache.`);
  }
}

/** Text hashes by shard (the shards that have any): each shard's hashes, and their positions among all. */
function byShard(hashes: readonly string[]): { shard: number; fields: string[]; positions: number[] }[] {
  const shards = Array.from({ length: SHARDS }, (_, shard) => ({ shard, fields: [] as string[], positions: [] as number[] }));
  for (let i = 0; i < hashes.length; i++) {
    const group = shards[shardOf(hashes[i])];
    group.fields.push(hashes[i]);
    group.positions.push(i);
  }
  return shards.filter((group) => group.fields.length > 0);
}
