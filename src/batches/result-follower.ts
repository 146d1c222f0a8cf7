import { setTimeout as sleep } from 'node:timers/promises';
import { isFinalStatus } from './batch-status';
import { chunkRange, READ_BYTES, type BatchStore } from './batch-store';
import type { ResultChunk } from './row-codec';

/** How long a follower waits for the next chunk: from the first wait, doubling while nothing comes, to the longest. */
export interface FollowTiming {
  firstWaitMs: number;
  longestWaitMs: number;
}

/**
 * Chunks are recorded every few milliseconds while workers are busy, so a short first wait keeps
 * a follower close behind them; a batch waiting for workers costs one read every half second.
 */
export const FOLLOW_TIMING: FollowTiming = { firstWaitMs: 20, longestWaitMs: 500 };

/** Chunks read in one round trip. */
const CHUNKS_PER_READ = 8;

/**
 * A running batch's results in input order, chunk by chunk as workers record them, until the batch
 * ends: what a download with `follow` streams, so a client writes its output while the batch runs
 * instead of after it. Reading stops at the first chunk not recorded yet and waits for it
 * (polling with backoff: nothing to subscribe to, miss or lose across a Redis restart). Once the
 * batch has ended (or is gone), the chunks recorded after that point are read as they stand: a
 * cancelled or failed batch's unrecorded chunks never come. `signal` ends the follow (the client
 * left, the server stops) with its abort reason.
 */
export async function* followResults(
  store: BatchStore,
  id: string,
  total: number,
  withInput: boolean,
  signal: AbortSignal,
  timing: FollowTiming = FOLLOW_TIMING,
): AsyncGenerator<ResultChunk[]> {
  const chunks = await store.chunkCount(id, total);
  if (chunks === null) return;
  // Chunks finish out of order (several workers, several chunks each): those read ahead of a
  // missing one wait here, parsed, rather than being read again: at most CHUNKS_PER_READ of them,
  // and no more than READ_BYTES stored (with the one chunk that is always read).
  const ahead = new Map<number, { chunk: ResultChunk; bytes: number }>();
  let aheadBytes = 0;
  let next = 0;
  let wait = timing.firstWaitMs;
  let ended = false;
  while (next < chunks) {
    signal.throwIfAborted();
    let last = Math.min(next + CHUNKS_PER_READ, chunks) - 1;
    // `next`, then what else fits beside what is held ahead; past the first that does not fit,
    // nothing is taken as never coming once the batch ended.
    const read = await store.chunksWithin(id, chunkRange(next, last).filter((chunk) => !ahead.has(chunk)), READ_BYTES, withInput, aheadBytes);
    if (read.cutAt !== null) last = read.cutAt - 1;
    const stored = await store.storedChunks(id, read.chunks, withInput);
    read.chunks.forEach((chunk, i) => {
      const found = stored[i];
      if (found === null) return;
      // Found though measured as not recorded (`next`, recorded between the two): its size is not
      // known, so it counts as a whole page and goes out alone.
      const bytes = read.bytes[i] === 0 ? READ_BYTES : read.bytes[i];
      ahead.set(chunk, { chunk: found, bytes });
      aheadBytes += bytes;
    });
    // Before the end, only the recorded chunks in a row from `next`; after it, every recorded one
    // up to `last` (the others never come). They go out in pages of at most READ_BYTES (one chunk
    // at least), so that the page being written is bounded too.
    let page: ResultChunk[] = [];
    let pageBytes = 0;
    for (; next <= last && (ended || ahead.has(next)); next++) {
      const found = ahead.get(next);
      if (!found) continue;
      ahead.delete(next);
      aheadBytes -= found.bytes;
      if (page.length > 0 && pageBytes + found.bytes > READ_BYTES) {
        yield page;
        page = [];
        pageBytes = 0;
      }
      page.push(found.chunk);
      pageBytes += found.bytes;
      wait = timing.firstWaitMs;
    }
    if (page.length > 0) yield page;
    if (next > last) continue;
    const state = await store.state(id);
    if (!state || isFinalStatus(state.status)) {
      ended = true;
      continue;
    }
    // An abort ends the wait with the signal's own reason (sleep's is a generic AbortError).
    await sleep(wait, undefined, { signal }).catch((error: unknown) => {
      signal.throwIfAborted();
      throw error;
    });
    wait = Math.min(wait * 2, timing.longestWaitMs);
  }
}
