import { encodeScores } from '../cache/prediction-cache';
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
 *
 * A worker sends only each row's outcome; the record-chunk script stores it beside the chunk's
 * input as the API stored it (`joinChunkResults`), so a row's id and text, the bulk of its bytes,
 * are never encoded or sent again.
 */

/** What a result row is decoded against. */
export interface RowModel {
  name: string;
  version: string;
  labels: readonly string[];
}

/** What a worker made of one row. */
export interface RowOutcome {
  /** Probabilities in the model's label order as a JSON array (as the cache stores them); null when the row failed. */
  scoresJson: string | null;
  cached: boolean;
  error: string | null;
}

/** A finished row: its probabilities in the model's label order (null when it failed). */
export type StoredResult = [id: string | null, text: string, scores: number[] | null, cached: 0 | 1, error: string | null];

/** A chunk's finished rows; row i has index `first + i`. */
export type StoredChunkResults = { first: number; rows: StoredResult[] };

type StoredOutcome = [scores: number[] | null, cached: 0 | 1, error: string | null];

type StoredChunk = { first: number; rows: [id: string | null, text: string | null][] };

/** A chunk's results as stored: its input as the API stored it, and an outcome per row. */
type JoinedChunkResults = { input: StoredChunk; output: StoredOutcome[] };

/** The JSON of one row's outcome, built around the scores' JSON so they are not serialized again. */
export function encodeOutcome(row: RowOutcome): string {
  return `[${row.scoresJson ?? 'null'},${row.cached ? 1 : 0},${row.error === null ? 'null' : JSON.stringify(row.error)}]`;
}

/** A chunk's outcomes, each encoded by `encodeOutcome`, in row order: what a worker records. */
export function encodeChunkOutcomes(encodedOutcomes: readonly string[]): string {
  return `[${encodedOutcomes.join(',')}]`;
}

/** The stored results of a chunk: what the record-chunk script stores, from the stored input and the outcomes. */
export function joinChunkResults(inputJson: string, outcomesJson: string): string {
  return `{"input":${inputJson},"output":${outcomesJson}}`;
}

/** A chunk's results as stored (joined or not), for writers that need no client objects (downloads that echo the input). */
export function parseChunkResults(json: string): StoredChunkResults {
  const stored = JSON.parse(json) as JoinedChunkResults | StoredChunkResults;
  if (!('input' in stored)) return stored;
  const { input, output } = stored;
  return {
    first: input.first,
    rows: output.map(([scores, cached, error], i): StoredResult => [input.rows[i][0], input.rows[i][1] ?? '', scores, cached, error]),
  };
}

/**
 * A chunk's outcomes as a worker encoded them (encodeChunkOutcomes), unparsed, and its first row's
 * index: what a download that echoes no id or text reads (the chunk-outcomes script) and writes
 * its rows from (result-export.ts, with outcome-reader.ts).
 */
export interface ChunkOutcomes {
  first: number;
  outcomes: string;
}

/** A chunk's results as a download reads them: parsed with the input it echoes, or its outcomes alone. */
export type ResultChunk = StoredChunkResults | ChunkOutcomes;

/** A chunk stored before outcomes were joined to the input (each row its id, text and outcome) as its outcomes. */
export function earlierChunkOutcomes(json: string): ChunkOutcomes {
  const { first, rows } = JSON.parse(json) as Partial<StoredChunkResults>;
  if (typeof first !== 'number' || !Array.isArray(rows)) throw new Error(`stored results of a chunk are malformed: ${JSON.stringify(json.slice(0, 40))}`);
  const outcomes = rows.map(([, , scores, cached, error]) => encodeOutcome({ scoresJson: scores && encodeScores(scores), cached: cached === 1, error }));
  return { first, outcomes: encodeChunkOutcomes(outcomes) };
}

/** Gives back a chunk's results as the client type, with indices from the chunk's first. */
export function decodeChunkResults(json: string, model: RowModel): BatchRowResult[] {
  const { first, rows } = parseChunkResults(json);
  return rows.map(([id, text, scores, cached, error], i) => ({
    index: first + i,
    id,
    text,
    prediction: scores ? toPrediction(text, scores, model, cached === 1) : null,
    error,
  }));
}

/** A chunk's input rows; their indices are consecutive, so only the first is kept. */
export function encodeChunk(rows: readonly InputRow[]): string {
  const stored: StoredChunk = { first: rows[0]?.index ?? 0, rows: rows.map((row) => [row.id, row.text]) };
  return JSON.stringify(stored);
}

/** A chunk's input as a worker labels it: its first row's index and each row's text (null when missing). */
export interface ChunkTexts {
  first: number;
  texts: (string | null)[];
}

/** The texts of a chunk's input: a worker needs no id, nor an object per row. */
export function decodeChunkTexts(json: string): ChunkTexts {
  const { first, rows } = JSON.parse(json) as StoredChunk;
  return { first, texts: rows.map((row) => row[1]) };
}
