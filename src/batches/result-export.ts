import { csvText, type CsvValue } from '../formats/csv';
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
 * so a file converts either way without losing anything.
 */
export function exportFields(labels: readonly string[]): string[] {
  return ['index', 'id', 'text', 'label', 'score', ...labels.map((label) => `score_${label}`), 'cached', 'error'];
}

function exportValues(row: BatchRowResult, labels: readonly string[]): CsvValue[] {
  const prediction = row.prediction;
  const scoreOf = new Map(prediction?.scores.map((s) => [s.label, s.score]) ?? []);
  return [
    row.index,
    row.id,
    row.text,
    prediction?.label ?? null,
    prediction?.score ?? null,
    ...labels.map((label) => scoreOf.get(label) ?? null),
    prediction ? prediction.cached : null,
    row.error,
  ];
}

/** Turns pages of results into the text of a download, header first, one line a row. */
export class ResultFormatter {
  private readonly fields: string[];

  constructor(private readonly format: ExportFormat, private readonly labels: readonly string[]) {
    this.fields = exportFields(labels);
  }

  header(): string {
    return this.format === 'csv' ? csvText([this.fields]) : '';
  }

  rows(rows: readonly BatchRowResult[]): string {
    const values = rows.map((row) => exportValues(row, this.labels));
    if (this.format === 'csv') return csvText(values);
    let out = '';
    for (const row of values) out += `${JSON.stringify(Object.fromEntries(this.fields.map((field, i) => [field, row[i]])))}\n`;
    return out;
  }
}
