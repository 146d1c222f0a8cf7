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

function exportValues(row: BatchRowResult, labels: readonly string[]): (string | number | boolean | null)[] {
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

// RFC 4180: quote a field holding a separator, a quote or a line break, and double its quotes.
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Turns pages of results into the text of a download, header first, one line a row. */
export class ResultFormatter {
  private readonly fields: string[];

  constructor(private readonly format: ExportFormat, private readonly labels: readonly string[]) {
    this.fields = exportFields(labels);
  }

  header(): string {
    return this.format === 'csv' ? `${this.fields.map(csvField).join(',')}\r\n` : '';
  }

  rows(rows: readonly BatchRowResult[]): string {
    let out = '';
    for (const row of rows) {
      const values = exportValues(row, this.labels);
      if (this.format === 'csv') {
        out += `${values.map(csvField).join(',')}\r\n`;
      } else {
        out += `${JSON.stringify(Object.fromEntries(this.fields.map((field, i) => [field, values[i]])))}\n`;
      }
    }
    return out;
  }
}
