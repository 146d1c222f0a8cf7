/**
 * Where the prediction cache keeps its entries: in Redis hashes, one per model version, window of
 * time and shard, with a text's hash as the field, rather than a key per text.
 *
 * Why: a key per text cost Redis a key, an expiry entry and a command (or a Lua `redis.call`) each.
 * Writing a 200,000-row file's 140,000 fresh predictions that way was most of Redis's work in a
 * cold `sift batch`: 0.39-0.58 CPU-s of it, against 0.09-0.12 s for the same entries as fields of a
 * few hashes, reads included (docs/performance.md, "The fourteenth session"), and an entry takes
 * about two thirds of the memory.
 *
 * A hash has one expiry for all its fields, so entries are kept by window: the time is cut into
 * windows of half the TTL, an entry goes into its model's hash of the window it is written in, and
 * a read looks in the current window and the two before it. An entry is therefore kept for at least
 * the TTL and at most one and a half times it (written at a window's end, or at its start).
 *
 * A window's hashes are deleted with UNLINK (freed by Redis in the background) by the first process
 * that uses the cache once they are out of reach; their expiry, a window later, is only for a cache
 * no process uses by then, as deleting a large hash in the foreground stalls Redis (300 ms for a
 * million fields). Each window is cut into SHARDS hashes by the text's hash, so that no single key
 * holds a whole window: four cost a writer no more than one (the same measurement), sixteen a third
 * more.
 *
 * Every process that shares a cache should run with the same SIFT_CACHE_TTL_SECONDS: the windows
 * are named by their start and length, and processes with another TTL look in other hashes.
 * Processes tell the time by their own clocks; one running ahead only retires a window early,
 * which costs its entries a model run again, never a wrong answer.
 */

/** Windows a read looks in: the current one and the two before it (each half the TTL long). */
export const WINDOWS_READ = 3;

/** Hashes a window is cut into, by the text's hash. */
export const SHARDS = 4;

/**
 * A base64url character's shard: its index in the alphabet (A-Z, a-z, 0-9, '-', '_') modulo
 * SHARDS, so that each shard takes as many of the 64 characters and as many texts.
 */
const SHARD_OF_CODE = (() => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const table = new Uint8Array(128);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i % SHARDS;
  return table;
})();

/** The shard of a text's hash (textHash's base64url), by its last character. */
export function shardOf(field: string): number {
  return SHARD_OF_CODE[field.charCodeAt(field.length - 1) & 0x7f];
}

/** The windows of one TTL, on a clock (Date.now but in tests). */
export class CacheWindows {
  /** A window's length: half the TTL. */
  readonly windowMs: number;
  private readonly ttlMs: number;

  constructor(
    ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.ttlMs = ttlSeconds * 1000;
    this.windowMs = ttlSeconds * 500;
  }

  /** The index of the window the clock is in. */
  current(): number {
    return Math.floor(this.now() / this.windowMs);
  }

  /**
   * The hash of one shard of one window under a model version's key prefix (`pred:model:version:`):
   * named by the window's start and length in milliseconds, which no text's hash can look like.
   */
  key(modelPrefix: string, window: number, shard: number): string {
    return `${modelPrefix}@${window * this.windowMs}+${this.windowMs}:${shard}`;
  }

  /**
   * When a window's hashes expire (ms since the epoch): a window after the last read that looks in
   * it could end, by which time a process has usually unlinked them (see retiredBy).
   */
  expiresAt(window: number): number {
    return (window + 1) * this.windowMs + this.ttlMs + this.windowMs;
  }

  /** The window that falls out of reach as `window` begins: its hashes can go. */
  retiredBy(window: number): number {
    return window - WINDOWS_READ;
  }
}
