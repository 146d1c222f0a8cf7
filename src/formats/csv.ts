import { stringify } from 'csv-stringify/sync';

/** One CSV cell before it is written: empty for null. */
export type CsvValue = string | number | boolean | null;

/** What a spreadsheet runs as a formula: a cell that begins with `=`, `+`, `-` or `@`, or with a tab or carriage return before one. */
const FORMULA_START = /^[=+\-@\t\r]/;
/** A cell that is one decimal number ("-3.5", "+2", "1e-3"): a spreadsheet reads it as that number, never as a formula. */
const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A string cell as it is safe to open in a spreadsheet (OWASP's advice against CSV injection): one
 * that begins with `=`, `+`, `-`, `@`, a tab or a carriage return gets a single quote in front,
 * which spreadsheets show as text rather than run. A string that is a plain number ("-3") is left
 * as it is: it cannot hold a formula, and the command line's merged output copies the user's own
 * CSV cells, where "-3" is data. Numbers (scores, indexes) never pass through here.
 */
export function neutralizeFormula(cell: string): string {
  return FORMULA_START.test(cell) && !PLAIN_NUMBER.test(cell) ? `'${cell}` : cell;
}

/**
 * Rows as CSV text (RFC 4180): a field holding a separator, a quote or a line break is quoted,
 * its quotes doubled; every row ends with CRLF; booleans are written `true`/`false`, null as an
 * empty field; string cells that a spreadsheet would run as a formula are neutralized
 * (`neutralizeFormula`). The one CSV writer Sift has: result downloads and the command line's
 * output files.
 */
export function csvText(rows: readonly (readonly CsvValue[])[]): string {
  if (rows.length === 0) return '';
  return stringify(rows as CsvValue[][], {
    record_delimiter: '\r\n',
    // csv-stringify quotes a field holding the whole record delimiter only: a lone LF or CR (a text
    // of several lines) would otherwise end the row for every reader.
    quoted_match: /[\r\n]/,
    cast: { boolean: (value) => String(value), string: neutralizeFormula },
  });
}

/** What csv-stringify quotes a string cell for: a separator, a quote or a line break. */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One cell as `csvText` writes it inside a row (without separators or the line end), for writers
 * that build rows themselves: `csvText([cells])` is `cells.map(csvCell).join(',') + '\r\n'`
 * (tests/cli/csv-merge.test.ts, "csvCell", holds them to that). Strings neutralized then quoted as
 * csv-stringify does, numbers as `String` gives them (its default cast), booleans `true`/`false`,
 * null empty.
 */
export function csvCell(value: CsvValue): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  const cell = neutralizeFormula(value);
  return NEEDS_QUOTES.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}
