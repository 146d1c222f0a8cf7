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
  // missing one wait here, parsed, rather than being read again (at most CHUNKS_PER_READ).
  const ahead = new Map<number, ResultChunk>();
  let next = 0;
  let wait = timing.firstWaitMs;
  let ended = false;
  while (next < chunks) {
    signal.throwIfAborted();
    let last = Math.min(next + CHUNKS_PER_READ, chunks) - 1;
    const unread = chunkRange(next, last).filter((chunk) => !ahead.has(chunk));
    // At most READ_BYTES of recorded chunks a read (chunks not recorded yet count nothing); the
    // chunks past what fits are read next time, not taken as never coming once the batch ended.
    const wanted = await store.chunksWithin(id, unread, READ_BYTES, withInput);
    if (wanted.length < unread.length) last = unread[wanted.length] - 1;
    const stored = await store.storedChunks(id, wanted, withInput);
    wanted.forEach((chunk, i) => {
      const found = stored[i];
      if (found !== null) ahead.set(chunk, found);
    });
    // Before the end, only the recorded chunks in a row from `next`; after it, every recorded one
    // up to `last` (the others never come).
    const ready: ResultChunk[] = [];
    for (; next <= last && (ended || ahead.has(next)); next++) {
      const found = ahead.get(next);
      if (found) ready.push(found);
      ahead.delete(next);
    }
    if (ready.length > 0) {
      wait = timing.firstWaitMs;
      yield ready;
    }
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
