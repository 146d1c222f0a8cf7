import { stringify } from 'csv-stringify/sync';

/** One CSV cell before it is written: empty for null. */
export type CsvValue = string | number | boolean | null;

/**
 * Rows as CSV text (RFC 4180): a field holding a separator, a quote or a line break is quoted,
 * its quotes doubled; every row ends with CRLF; booleans are written `true`/`false`, null as an
 * empty field. The one CSV writer Sift has: result downloads and the command line's output files.
 */
export function csvText(rows: readonly (readonly CsvValue[])[]): string {
  if (rows.length === 0) return '';
  return stringify(rows as CsvValue[][], { record_delimiter: '\r\n', cast: { boolean: (value) => String(value) } });
}
