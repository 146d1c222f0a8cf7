import { setTimeout as sleep } from 'node:timers/promises';
import { isFinalStatus } from './batch-status';
import type { BatchStore } from './batch-store';
import { parseChunkResults, type StoredChunkResults } from './row-codec';

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
): AsyncGenerator<StoredChunkResults[]> {
  const chunks = await store.chunkCount(id, total);
  if (chunks === null) return;
  let next = 0;
  let wait = timing.firstWaitMs;
  let ended = false;
  while (next < chunks) {
    signal.throwIfAborted();
    const stored = await store.chunkResultsAt(id, next, Math.min(next + CHUNKS_PER_READ, chunks) - 1);
    // Before the end, only the recorded chunks in a row from `next`; after it, every recorded one.
    const taken = ended ? stored.length : leadingRecorded(stored);
    const ready = stored.slice(0, taken).flatMap((json) => (json === null ? [] : [parseChunkResults(json, withInput)]));
    next += taken;
    if (ready.length > 0) {
      wait = timing.firstWaitMs;
      yield ready;
    }
    if (ended || taken === stored.length) continue;
    const state = await store.state(id);
    if (!state || isFinalStatus(state.status)) {
      ended = true;
      continue;
    }
    await sleep(wait, undefined, { signal });
    wait = Math.min(wait * 2, timing.longestWaitMs);
  }
}

function leadingRecorded(stored: readonly (string | null)[]): number {
  const missing = stored.indexOf(null);
  return missing === -1 ? stored.length : missing;
}
