import { csvCell, csvText } from '../formats/csv';
import { jsonNumber } from '../formats/json-number';
import { bestLabelIndex } from '../predictions/prediction';
import { OutcomeReader } from './outcome-reader';
import type { ChunkOutcomes, ResultChunk, StoredResult } from './row-codec';

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
        out += this.outcomeLines(chunk);
        continue;
      }
      const { first, rows } = chunk;
      for (let i = 0; i < rows.length; i++) out += this.format === 'csv' ? this.csvLine(first + i, rows[i]) : this.jsonLine(first + i, rows[i]);
    }
    return out;
  }

  /**
   * The lines of a chunk's outcomes, read from their text: the same lines as csvLine and jsonLine
   * write for the parsed rows (with a null id and an empty text), each score copied as stored.
   */
  private outcomeLines({ first, outcomes }: ChunkOutcomes): string {
    const row = new OutcomeReader(outcomes);
    let out = '';
    for (let index = first; row.next(); index++) out += this.format === 'csv' ? this.csvOutcomeLine(index, row) : this.jsonOutcomeLine(index, row);
    return out;
  }

  private csvOutcomeLine(index: number, row: OutcomeReader): string {
    let line = this.echo ? `${index},,` : String(index);
    if (row.scored) {
      const best = bestLabelIndex(row.scores);
      line += `,${this.labelCell(this.labels[best])},${row.csvScore(best)}`;
      for (let i = 0; i < this.labels.length; i++) line += `,${row.csvScore(i)}`;
      line += row.cached ? ',true' : ',false';
    } else {
      line += ',,' + ','.repeat(this.labels.length) + ',';
    }
    return `${line},${row.errorJson === 'null' ? '' : csvCell(row.error)}\r\n`;
  }

  private jsonOutcomeLine(index: number, row: OutcomeReader): string {
    let line = this.echo ? `{"index":${index},"id":null,"text":""` : `{"index":${index}`;
    if (row.scored) {
      const best = bestLabelIndex(row.scores);
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
  private csvLine(index: number, [id, text, scores, cached, error]: StoredResult): string {
    let line = String(index);
    if (this.echo) line += `,${csvCell(id)},${csvCell(text)}`;
    if (scores) {
      const best = bestLabelIndex(scores);
      line += `,${this.labelCell(this.labels[best])},${csvCell(scoreAt(scores, best))}`;
      for (let i = 0; i < this.labels.length; i++) line += `,${csvCell(scoreAt(scores, i))}`;
      line += cached === 1 ? ',true' : ',false';
    } else {
      line += ',,' + ','.repeat(this.labels.length) + ',';
    }
    return `${line},${csvCell(error)}\r\n`;
  }

  /**
   * One JSON Lines row, the same text as JSON.stringify of the row's object in `fields` order,
   * built without that object: only the strings go through JSON.stringify.
   */
  private jsonLine(index: number, [id, text, scores, cached, error]: StoredResult): string {
    let line = `{"index":${index}`;
    if (this.echo) line += `,"id":${id === null ? 'null' : JSON.stringify(id)},"text":${JSON.stringify(text)}`;
    if (scores) {
      const best = bestLabelIndex(scores);
      line += `,"label":${JSON.stringify(this.labels[best])},"score":${jsonNumber(scoreAt(scores, best))}`;
      for (let i = 0; i < this.scoreKeys.length; i++) line += this.scoreKeys[i] + jsonNumber(scoreAt(scores, i));
      line += `,"cached":${cached === 1}`;
    } else {
      line += ',"label":null,"score":null';
      for (const key of this.scoreKeys) line += `${key}null`;
      line += ',"cached":null';
    }
    return `${line},"error":${error === null ? 'null' : JSON.stringify(error)}}\n`;
  }
}

/** A label's stored probability (null past the stored ones). */
function scoreAt(scores: readonly number[], i: number): number | null {
  return i < scores.length ? scores[i] : null;
}
