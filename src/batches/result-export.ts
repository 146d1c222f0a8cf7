import { csvCell, csvText } from '../formats/csv';
import { jsonNumber } from '../formats/json-number';
import { bestLabelIndex } from '../predictions/prediction';
import { OutcomeReader } from './outcome-reader';
import type { ResultChunk, StoredResult } from './row-codec';

/** Formats results download in. */
export type ExportFormat = 'csv' | 'jsonl';

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
};

/**
 * One flat record a finished row: its position and input id, the text, the label and its score,
 * one `score_<label>` per label in the model's label order, whether the cache answered, and the
 * row's error. Failed rows have empty prediction fields. The same fields in CSV and JSON Lines,
 * so a file converts either way without losing anything. Without `echo`, the id and text are
 * left out: a client that holds its input (the command line merging into OUTPUT) needs only the
 * position to match them up, and both sides then skip the bulk of the download.
 */
export function exportFields(labels: readonly string[], echo = true): string[] {
  return ['index', ...(echo ? ['id', 'text'] : []), 'label', 'score', ...labels.map((label) => `score_${label}`), 'cached', 'error'];
}

/** Turns pages of results into the text of a download, header first, one line a row. */
export class ResultFormatter {
  private readonly fields: string[];
  /** `,"score_<label>":` for each label, JSON-encoded once. */
  private readonly scoreKeys: string[];
  private readonly labelCells = new Map<string, string>();

  constructor(private readonly format: ExportFormat, private readonly labels: readonly string[], private readonly echo = true) {
    this.fields = exportFields(labels, echo);
    this.scoreKeys = labels.map((label) => `,${JSON.stringify(`score_${label}`)}:`);
  }

  header(): string {
    return this.format === 'csv' ? csvText([this.fields]) : '';
  }

  /** The rows of stored chunks (row-codec.ts) as download lines, in the order given. */
  rows(chunks: readonly ResultChunk[]): string {
    let out = '';
    for (const chunk of chunks) {
      if ('outcomes' in chunk) {
        // Read from the outcomes' text, each score copied as stored; no id or text to echo.
        const row = new OutcomeReader(chunk.outcomes);
        for (let index = chunk.first; row.next(); index++) out += this.line(index, null, '', row);
        continue;
      }
      const row = new ParsedRow();
      for (let i = 0; i < chunk.rows.length; i++) {
        const [id, text] = row.read(chunk.rows[i]);
        out += this.line(chunk.first + i, id, text, row);
      }
    }
    return out;
  }

  private line(index: number, id: string | null, text: string, row: RowView): string {
    return this.format === 'csv' ? this.csvLine(index, id, text, row) : this.jsonLine(index, id, text, row);
  }

  /** The cell of a label, made once per label. */
  private labelCell(label: string): string {
    let cell = this.labelCells.get(label);
    if (cell === undefined) this.labelCells.set(label, (cell = csvCell(label)));
    return cell;
  }

  /**
   * One CSV row, csvText's text for the row's values cell by cell (csvCell), without an array per
   * row or csv-stringify's cost per call. The label is the most probable one, the first of equals
   * in label order (as a Prediction's is, see toPrediction).
   */
  private csvLine(index: number, id: string | null, text: string, row: RowView): string {
    let line = String(index);
    if (this.echo) line += `,${csvCell(id)},${csvCell(text)}`;
    if (row.scored) {
      const best = row.bestIndex();
      line += `,${this.labelCell(this.labels[best])},${row.csvScore(best)}${this.scoreCells(row)}${row.cached ? ',true' : ',false'}`;
    } else {
      line += ',,' + ','.repeat(this.labels.length) + ',';
    }
    return `${line},${csvCell(row.error)}\r\n`;
  }

  /** One `,<score>` cell per label: as the row stores them when it can give them at once, else score by score. */
  private scoreCells(row: RowView): string {
    const asStored = row.csvScoresAsStored?.(this.labels.length) ?? null;
    if (asStored !== null) return `,${asStored}`;
    let cells = '';
    for (let i = 0; i < this.labels.length; i++) cells += `,${row.csvScore(i)}`;
    return cells;
  }

  /**
   * One JSON Lines row, the same text as JSON.stringify of the row's object in `fields` order,
   * built without that object: only the strings go through JSON.stringify.
   */
  private jsonLine(index: number, id: string | null, text: string, row: RowView): string {
    let line = `{"index":${index}`;
    if (this.echo) line += `,"id":${id === null ? 'null' : JSON.stringify(id)},"text":${JSON.stringify(text)}`;
    if (row.scored) {
      const best = row.bestIndex();
      line += `,"label":${JSON.stringify(this.labels[best])},"score":${row.jsonScore(best)}`;
      for (let i = 0; i < this.scoreKeys.length; i++) line += this.scoreKeys[i] + row.jsonScore(i);
      line += `,"cached":${row.cached}`;
    } else {
      line += ',"label":null,"score":null';
      for (const key of this.scoreKeys) line += `${key}null`;
      line += ',"cached":null';
    }
    return `${line},"error":${row.errorJson}}\n`;
  }
}

/**
 * One stored row as the line writers read it: a parsed row (ParsedRow) or a row of a chunk's
 * outcomes' text (OutcomeReader, which copies each score's text as stored).
 */
interface RowView {
  /** Whether it has scores (it did not fail). */
  readonly scored: boolean;
  /** The index of its most probable score, the first of equals (bestLabelIndex). */
  bestIndex(): number;
  readonly cached: boolean;
  readonly error: string | null;
  /** The error as JSON writes it. */
  readonly errorJson: string;
  /** Score `i` as a CSV cell: empty for null or past the stored ones. */
  csvScore(i: number): string;
  /** The CSV cells of scores 0 to `labels` - 1 joined by commas, when the row can give them at once (see OutcomeReader); null otherwise. */
  csvScoresAsStored?(labels: number): string | null;
  /** Score `i` as JSON writes it: null past the stored ones. */
  jsonScore(i: number): string;
}

/** A parsed stored row (row-codec.ts's StoredResult) as a RowView; one is reused for a chunk's rows. */
class ParsedRow implements RowView {
  scores: readonly number[] = [];
  scored = false;
  cached = false;
  error: string | null = null;

  /** Makes this view show `row`; its id and text, which the view leaves out. */
  read([id, text, scores, cached, error]: StoredResult): [id: string | null, text: string] {
    this.scored = scores !== null;
    this.scores = scores ?? [];
    this.cached = cached === 1;
    this.error = error;
    return [id, text];
  }

  get errorJson(): string {
    return this.error === null ? 'null' : JSON.stringify(this.error);
  }

  bestIndex(): number {
    return bestLabelIndex(this.scores);
  }

  csvScore(i: number): string {
    return csvCell(scoreAt(this.scores, i));
  }

  jsonScore(i: number): string {
    return jsonNumber(scoreAt(this.scores, i));
  }
}

/** A label's stored probability (null past the stored ones). */
function scoreAt(scores: readonly number[], i: number): number | null {
  return i < scores.length ? scores[i] : null;
}
