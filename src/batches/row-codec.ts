import { toPrediction } from '../predictions/prediction';
import type { BatchRowResult, InputRow } from './batch-types';

/**
 * How batch rows are stored in Redis: compact JSON arrays, not the objects clients see. A batch
 * of a million rows keeps its input and results in Redis for days, and every chunk's rows are
 * written by a worker's one busy thread, so the bytes per row matter: a stored result keeps only
 * what the row adds (its scores, in the model's label order), and the model's name, version and
 * labels come once from the batch record when the row is read back. A chunk's results are stored
 * together, as one value: Redis then keeps one hash field per chunk, not one per row, and a worker
 * sends one argument, not a thousand.
 */

/** What a result row is decoded against. */
export interface RowModel {
  name: string;
  version: string;
  labels: readonly string[];
}

/** A finished row as a worker stores it. */
export interface FinishedRow {
  id: string | null;
  text: string;
  /** Probabilities in the model's label order as a JSON array (as the cache stores them); null when the row failed. */
  scoresJson: string | null;
  cached: boolean;
  error: string | null;
}

/** A finished row as stored: its probabilities in the model's label order (null when it failed). */
export type StoredResult = [id: string | null, text: string, scores: number[] | null, cached: 0 | 1, error: string | null];

/** The JSON of a `StoredResult`, built around the scores' JSON so they are not serialized again. */
export function encodeResult(row: FinishedRow): string {
  return `[${JSON.stringify(row.id)},${JSON.stringify(row.text)},${row.scoresJson ?? 'null'},${row.cached ? 1 : 0},${JSON.stringify(row.error)}]`;
}

function decodeResult(index: number, stored: StoredResult, model: RowModel): BatchRowResult {
  const [id, text, scores, cached, error] = stored;
  return { index, id, text, prediction: scores ? toPrediction(text, scores, model, cached === 1) : null, error };
}

/** A chunk's finished rows as stored; row i has index `first + i`. */
export type StoredChunkResults = { first: number; rows: StoredResult[] };

/** The results of a chunk whose first row has index `first`, each encoded by `encodeResult`, in row order. */
export function encodeChunkResults(first: number, encodedResults: readonly string[]): string {
  return `{"first":${first},"rows":[${encodedResults.join(',')}]}`;
}

/** Gives back a chunk's results as the client type, with indices from the chunk's first. */
export function decodeChunkResults(json: string, model: RowModel): BatchRowResult[] {
  const { first, rows } = parseChunkResults(json);
  return rows.map((stored, i) => decodeResult(first + i, stored, model));
}

/** A chunk's results as stored, for writers that need no client objects (downloads). */
export function parseChunkResults(json: string): StoredChunkResults {
  return JSON.parse(json) as StoredChunkResults;
}

type StoredChunk = { first: number; rows: [id: string | null, text: string | null][] };

/** A chunk's input rows; their indices are consecutive, so only the first is kept. */
export function encodeChunk(rows: readonly InputRow[]): string {
  const stored: StoredChunk = { first: rows[0]?.index ?? 0, rows: rows.map((row) => [row.id, row.text]) };
  return JSON.stringify(stored);
}

export function decodeChunk(json: string): InputRow[] {
  const { first, rows } = JSON.parse(json) as StoredChunk;
  return rows.map(([id, text], i) => ({ index: first + i, id, text }));
}
