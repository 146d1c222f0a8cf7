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
 * A worker sends only each row's outcome (`encodeChunkOutput`); the record-chunk script stores it
 * as the chunk's field of the results hash and renames the chunk's input, as the API stored it,
 * to the chunk's recorded input: a row's id and text, the bulk of its bytes, are never encoded or
 * sent again, nor copied through Lua inside Redis (joining them there, and cutting the outcomes
 * out again for a download, cost Redis a sixth of its time in a file bench, see
 * docs/performance.md). A download that echoes neither reads the outcomes alone.
 *
 * Results recorded by earlier releases stay readable: a chunk's outcomes joined with its input in
 * one value (`{"input":...,"output":...}`), and before that each row whole (`{"first":N,"rows":...}`).
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

/** A chunk's results as this release stores them: its first row's index and an outcome per row. */
type ChunkOutput = { first: number; output: StoredOutcome[] };

/** A chunk's results as a release before this one stored them: its input and an outcome per row, in one value. */
type JoinedChunkResults = { input: StoredChunk; output: StoredOutcome[] };

/** How a row's outcome ends when it has no error: most rows', written without a string of their own. */
const FRESH_END = ',0,null]';
const CACHED_END = ',1,null]';

/**
 * A chunk's outcomes as the JSON array of each row's `[scores, cached, error]`, written row by row
 * as pieces joined once: a worker writes one for every chunk, and a string made for each row (then
 * copied again into the chunk's) was about a tenth of what a worker allocated over a file (a heap
 * sample, docs/performance.md). A row's scores are its JSON as the cache stores it, not serialized
 * again.
 */
export class ChunkOutcomesWriter {
  private readonly pieces: string[] = [];

  add(scoresJson: string | null, cached: boolean, error: string | null): void {
    const end = error !== null ? `,${cached ? 1 : 0},${JSON.stringify(error)}]` : cached ? CACHED_END : FRESH_END;
    this.pieces.push(this.pieces.length === 0 ? '[[' : ',[', scoresJson ?? 'null', end);
  }

  json(): string {
    return this.pieces.length === 0 ? '[]' : `${this.pieces.join('')}]`;
  }
}

/** The outcomes of `rows` as one chunk's (ChunkOutcomesWriter's JSON). */
export function encodeChunkOutcomes(rows: readonly RowOutcome[]): string {
  const writer = new ChunkOutcomesWriter();
  for (const row of rows) writer.add(row.scoresJson, row.cached, row.error);
  return writer.json();
}

/** What a worker records for a chunk whose first row is `first`: its outcomes (encodeChunkOutcomes), as the results hash keeps them. */
export function encodeChunkOutput(first: number, outcomesJson: string): string {
  return `{"first":${first},"output":${outcomesJson}}`;
}

/** How a value encodeChunkOutput wrote begins, up to its first row's index; `,"output":` follows the index. */
const CHUNK_OUTPUT_START = '{"first":';
const CHUNK_OUTPUT_AFTER_FIRST = ',"output":';
/** How a value a release before this one stored (JoinedChunkResults) begins, up to its first row's index. */
const JOINED_START = '{"input":{"first":';
/** What ends a joined value's input: a quote inside the input's strings is escaped, so this cannot be inside one. */
const JOINED_OUTPUT = '},"output":';

/**
 * A chunk's results (its field of the results hash) with the input they echo, for writers that
 * need no client objects (downloads that echo the input). `input` is the chunk's recorded input
 * (a value recorded by an earlier release holds its input itself). Should the recorded input be
 * gone while the results are not (the two expire a batch's retention after their chunk's and its
 * last chunk's recording, after the batch record, so only an eviction or a hand could do it), the
 * rows are still given, by index, with no id and an empty text, rather than left out.
 */
export function parseChunkResults(value: string, input: string | null): StoredChunkResults {
  if (outputStart(value) !== null) {
    const { first, output } = JSON.parse(value) as ChunkOutput;
    const rows = input === null ? { first, rows: output.map((): StoredChunk['rows'][number] => [null, null]) } : (JSON.parse(input) as StoredChunk);
    return withOutcomes(rows, output);
  }
  const stored = JSON.parse(value) as JoinedChunkResults | StoredChunkResults;
  return 'input' in stored ? withOutcomes(stored.input, stored.output) : stored;
}

function withOutcomes(input: StoredChunk, output: readonly StoredOutcome[]): StoredChunkResults {
  return {
    first: input.first,
    rows: output.map(([scores, cached, error], i): StoredResult => [input.rows[i][0], input.rows[i][1] ?? '', scores, cached, error]),
  };
}

/**
 * For a value in encodeChunkOutput's form, its first row's index and where its outcomes begin;
 * null for another form.
 */
function outputStart(value: string | Buffer): { first: number; outcomes: number } | null {
  const digits = afterIndex(value, CHUNK_OUTPUT_START);
  if (digits === null || !hasAt(value, CHUNK_OUTPUT_AFTER_FIRST, digits.end)) return null;
  return { first: digits.first, outcomes: digits.end + CHUNK_OUTPUT_AFTER_FIRST.length };
}

/** Whether `value` holds the ASCII `text` at `at`. */
function hasAt(value: string | Buffer, text: string, at: number): boolean {
  for (let i = 0; i < text.length; i++) if (codeAt(value, at + i) !== text.charCodeAt(i)) return false;
  return true;
}

/** When `value` begins with `start` and digits, the number they make and where they end; else null. */
function afterIndex(value: string | Buffer, start: string): { first: number; end: number } | null {
  if (!hasAt(value, start, 0)) return null;
  let end = start.length;
  let first = 0;
  for (let code = codeAt(value, end); code >= 0x30 && code <= 0x39; code = codeAt(value, ++end)) first = first * 10 + (code - 0x30);
  return end > start.length ? { first, end } : null;
}

/** The character code (of a string) or byte (of a Buffer) at `at`; NaN past the end. */
function codeAt(value: string | Buffer, at: number): number {
  return typeof value === 'string' ? value.charCodeAt(at) : (value[at] ?? NaN);
}

/**
 * A chunk's outcomes as a worker encoded them (encodeChunkOutcomes), unparsed, and its first row's
 * index: what a download that echoes no id or text reads and writes its rows from
 * (result-export.ts, with outcome-reader.ts).
 */
export interface ChunkOutcomes {
  first: number;
  outcomes: string;
}

/** A chunk's results as a download reads them: parsed with the input it echoes, or its outcomes alone. */
export type ResultChunk = StoredChunkResults | ChunkOutcomes;

/**
 * The outcomes of a chunk's stored results (its field of the results hash, as bytes), whichever
 * release stored them: decoded from the value's bytes where they stand (no parse) when they are
 * there, and encoded from its rows for the earliest form. Decoding only those bytes makes a flat
 * string, which the outcome reader scans faster than a slice of the whole value.
 */
export function chunkOutcomesOf(value: Buffer): ChunkOutcomes {
  const output = outputStart(value);
  if (output) return { first: output.first, outcomes: value.toString('utf8', output.outcomes, value.length - 1) };
  const joined = afterIndex(value, JOINED_START);
  const at = joined ? value.indexOf(JOINED_OUTPUT) : -1;
  if (joined && at !== -1) return { first: joined.first, outcomes: value.toString('utf8', at + JOINED_OUTPUT.length, value.length - 1) };
  return earliestChunkOutcomes(value.toString());
}

/** The outcomes of a chunk stored before outcomes were kept apart from the input (each row its id, text and outcome). */
function earliestChunkOutcomes(json: string): ChunkOutcomes {
  const { first, rows } = JSON.parse(json) as Partial<StoredChunkResults>;
  if (typeof first !== 'number' || !Array.isArray(rows)) throw new Error(`stored results of a chunk are malformed: ${JSON.stringify(json.slice(0, 40))}`);
  return { first, outcomes: encodeChunkOutcomes(rows.map(([, , scores, cached, error]) => ({ scoresJson: scores && encodeScores(scores), cached: cached === 1, error }))) };
}

/** Gives back a chunk's results as the client type, with indices from the chunk's first. */
export function decodeChunkResults({ first, rows }: StoredChunkResults, model: RowModel): BatchRowResult[] {
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

/**
 * The JSON of the rows within a value encodeChunk wrote (an array of [id, text] pairs, StoredChunk's
 * `rows`, which the idempotency fingerprint hashes), as a view of it (no copy: a chunk of long rows
 * is tens of MB, and a second string of it, alive while the chunk is stored, raised an upload's
 * peak by that much).
 */
export function storedRowsJson(encodedChunk: string): string {
  return encodedChunk.slice(encodedChunk.indexOf(CHUNK_ROWS) + CHUNK_ROWS.length, -1);
}

/** What comes before a chunk's rows in encodeChunk's value, after its first index. */
const CHUNK_ROWS = ',"rows":';

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
