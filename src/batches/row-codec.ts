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

/** How a joined chunk's stored JSON begins, up to its first row's index (joinChunkResults, encodeChunk). */
const JOINED_START = /^\{"input":\{"first":(\d+),/;
/**
 * What precedes the outcomes in a joined chunk. It cannot occur inside the input's strings, where
 * every quote is escaped, and the input's keys are `first` and `rows`: the first match is the key.
 */
const OUTPUT_KEY = ',"output":';

/**
 * A chunk's results as stored, for writers that need no client objects (downloads). Results
 * stored before outcomes were joined to the input (`{first, rows}`, each row its id, text and
 * outcome) are read too, for batches kept across an upgrade. Without `withInput` (a download that
 * echoes no id or text) only the outcomes of a joined chunk are parsed, not the texts, the bulk of
 * its bytes; its rows then carry a null id and an empty text.
 */
export function parseChunkResults(json: string, withInput = true): StoredChunkResults {
  const joined = withInput ? null : JOINED_START.exec(json);
  if (joined) {
    const output = JSON.parse(json.slice(json.indexOf(OUTPUT_KEY) + OUTPUT_KEY.length, -1)) as StoredOutcome[];
    return { first: Number(joined[1]), rows: output.map(([scores, cached, error]): StoredResult => [null, '', scores, cached, error]) };
  }
  const stored = JSON.parse(json) as JoinedChunkResults | StoredChunkResults;
  if (!('input' in stored)) return stored;
  const { input, output } = stored;
  return {
    first: input.first,
    rows: output.map(([scores, cached, error], i): StoredResult => [input.rows[i][0], input.rows[i][1] ?? '', scores, cached, error]),
  };
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

export function decodeChunk(json: string): InputRow[] {
  const { first, rows } = JSON.parse(json) as StoredChunk;
  return rows.map(([id, text], i) => ({ index: first + i, id, text }));
}
