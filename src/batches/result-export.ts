import { csvCell, csvText } from '../formats/csv';
import type { BatchRowResult } from './batch-types';

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

/** The row's score for each label, in the model's label order (a prediction lists them most probable first). */
function scoresOf(row: BatchRowResult, labels: readonly string[]): (number | null)[] {
  const scores = row.prediction?.scores ?? [];
  return labels.map((label) => {
    for (const s of scores) if (s.label === label) return s.score;
    return null;
  });
}

/** A number as JSON writes it (a number that is not finite is null). */
function jsonNumber(value: number | null): string {
  return value !== null && Number.isFinite(value) ? String(value) : 'null';
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

  rows(rows: readonly BatchRowResult[]): string {
    if (this.format === 'csv') {
      let out = '';
      for (const row of rows) out += this.csvLine(row);
      return out;
    }
    let out = '';
    for (const row of rows) out += this.jsonLine(row);
    return out;
  }

  /**
   * One CSV row, csvText's text for the row's values cell by cell (csvCell), without an array per
   * row or csv-stringify's cost per call; a label's cell is made once per label.
   */
  private csvLine(row: BatchRowResult): string {
    let line = String(row.index);
    if (this.echo) line += `,${csvCell(row.id)},${csvCell(row.text)}`;
    const prediction = row.prediction;
    if (prediction) {
      let label = this.labelCells.get(prediction.label);
      if (label === undefined) this.labelCells.set(prediction.label, (label = csvCell(prediction.label)));
      line += `,${label},${csvCell(prediction.score)}`;
      for (const score of scoresOf(row, this.labels)) line += `,${csvCell(score)}`;
      line += prediction.cached ? ',true' : ',false';
    } else {
      line += ',,' + ','.repeat(this.labels.length) + ',';
    }
    return `${line},${csvCell(row.error)}\r\n`;
  }

  /**
   * One JSON Lines row, the same text as JSON.stringify of the row's object in `fields` order,
   * built without that object: only the strings go through JSON.stringify.
   */
  private jsonLine(row: BatchRowResult): string {
    let line = `{"index":${row.index}`;
    if (this.echo) line += `,"id":${row.id === null ? 'null' : JSON.stringify(row.id)},"text":${JSON.stringify(row.text)}`;
    const prediction = row.prediction;
    if (prediction) {
      line += `,"label":${JSON.stringify(prediction.label)},"score":${jsonNumber(prediction.score)}`;
      const scores = scoresOf(row, this.labels);
      for (let i = 0; i < scores.length; i++) line += this.scoreKeys[i] + jsonNumber(scores[i]);
      line += `,"cached":${prediction.cached}`;
    } else {
      line += ',"label":null,"score":null';
      for (const key of this.scoreKeys) line += `${key}null`;
      line += ',"cached":null';
    }
    return `${line},"error":${row.error === null ? 'null' : JSON.stringify(row.error)}}\n`;
  }
}
