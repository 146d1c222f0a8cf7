import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';

/** A progress event as the lean subscriptions below select it. */
export interface LeanProgress {
  batchProgress: {
    batch: { status: string; total: number; processed: number; succeeded: number; failed: number; cached: number };
    rows?: { index: number }[];
  };
}

export type ProgressVariables = { id: string; fromRow?: number | null };

/** Counts and row indices only: what a test needs to check every row arrives once, in order. */
export const ROW_INDICES = parse(`
  subscription RowIndices($id: ID!, $fromRow: Int) {
    batchProgress(id: $id, fromRow: $fromRow) {
      batch { status total processed succeeded failed cached }
      rows { index }
    }
  }
`) as TypedDocumentNode<LeanProgress, ProgressVariables>;

/** Counts only: a subscriber that selects no rows. */
export const COUNTS_ONLY = parse(`
  subscription CountsOnly($id: ID!) {
    batchProgress(id: $id) {
      batch { status total processed succeeded failed cached }
    }
  }
`) as TypedDocumentNode<LeanProgress, ProgressVariables>;

/** Every row index a subscriber received, in the order received. */
export function indicesOf(events: LeanProgress[]): number[] {
  return events.flatMap((event) => (event.batchProgress.rows ?? []).map((row) => row.index));
}

/** 0, 1, ..., n - 1 (or from..to-1). */
export function range(from: number, to?: number): number[] {
  const [start, end] = to === undefined ? [0, from] : [from, to];
  return Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
}
