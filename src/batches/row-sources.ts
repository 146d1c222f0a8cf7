import { ErrorCodes, userError } from '../errors';
import { numberTexts } from '../formats/json-number-texts';
import type { InputRow } from './batch-types';
import { quoteInput, quoteList, shortened } from './quote-input';
import { textLines } from './text-lines';

/** Which columns (CSV) or fields (JSON Lines) hold the text and the row id. */
export interface ColumnOptions {
  /**
   * The column holding the text, or several whose cells are joined into it (see `joinedText`).
   * One or more names, each once.
   */
  textColumns: readonly string[];
  idColumn?: string | null;
}

/**
 * What joins the cells of several text columns into the one text a row is labelled by: a line
 * break, so the parts stay apart (in the text results echo, and for the tokenizers, which read it
 * as white space) and no cell runs into the next one's first word.
 */
export const TEXT_COLUMNS_SEPARATOR = '\n';

/** The names in a comma-separated list (`textColumns=title,body`, `--text-columns title,body`), trimmed. */
export function columnList(value: string): string[] {
  return value.split(',').map((name) => name.trim());
}

/**
 * The text column(s) a caller chose: `textColumn` (one column), `textColumns` (several, joined),
 * or neither ("text"). Both at once, an empty name or a name given twice is the caller's error.
 * `names` are what the caller calls the two options (query parameters, CLI flags).
 */
export function chosenTextColumns(
  choice: { textColumn?: string | null; textColumns?: readonly string[] | null },
  names: { one: string; many: string } = { one: 'textColumn', many: 'textColumns' },
): string[] {
  const { textColumn, textColumns } = choice;
  if (textColumns === null || textColumns === undefined) return [textColumn ?? 'text'];
  if (textColumn !== null && textColumn !== undefined) {
    throw userError(ErrorCodes.BAD_BATCH_OPTIONS, `Give ${names.one} or ${names.many}, not both: ${names.one} names the one column holding the text, ${names.many} several whose cells are joined into it.`);
  }
  if (textColumns.length === 0 || textColumns.some((name) => name === '')) {
    throw userError(ErrorCodes.BAD_BATCH_OPTIONS, `${names.many} needs one or more column names, separated by commas (e.g. title,body); it has an empty one.`);
  }
  const twice = textColumns.find((name, i) => textColumns.indexOf(name) !== i);
  if (twice !== undefined) throw userError(ErrorCodes.BAD_BATCH_OPTIONS, `${names.many} names ${quoteInput(twice)} twice; name each column once.`);
  return [...textColumns];
}

/**
 * The text of a row from its text columns' values, in the columns' order: one column's value as
 * it is; several columns' non-blank strings joined with TEXT_COLUMNS_SEPARATOR (blank cells,
 * missing fields and non-string JSON values are left out, so a row without a title is its body
 * alone). Null when no column holds a string (a JSON record without the fields): the row fails
 * alone, as a missing text field does.
 */
export function joinedText(values: readonly unknown[]): string | null {
  if (values.length === 1) return typeof values[0] === 'string' ? values[0] : null;
  const strings = values.filter((value): value is string => typeof value === 'string');
  if (strings.length === 0) return null;
  return strings.filter((value) => value.trim() !== '').join(TEXT_COLUMNS_SEPARATOR);
}

/** A whole document, or one streamed as decoded text. */
export type TextInput = string | AsyncIterable<string>;

/** A whole CSV document, or one streamed as text or as UTF-8 bytes (checked, see utf8-text.ts). */
export type CsvInput = TextInput | AsyncIterable<Buffer>;

/**
 * Every source yields rows as they become available, several at a time (see
 * read-available.ts). Inline texts: one row each, a thousand at a time.
 */
export async function* textRows(texts: readonly string[]): AsyncGenerator<InputRow[]> {
  for (let start = 0; start < texts.length; start += 1000) {
    yield texts.slice(start, start + 1000).map((text, i) => ({ index: start + i, id: null, text }));
  }
}

/**
 * Where the text and id are in a record, once the header is checked: every text column the
 * header lacks is named at once. `textOption` is what the caller calls the option naming the text
 * column(s) (a query parameter, a CLI flag). The columns found are quoted a few hundred characters
 * at most (see quote-input.ts): a header may be a whole file that has no line break.
 */
export function checkHeader(header: string[], { textColumns, idColumn }: ColumnOptions, textOption = textColumns.length > 1 ? 'textColumns' : 'textColumn'): { text: number[]; id: number } {
  const found = () => quoteList(header);
  const missing = textColumns.filter((name) => !header.includes(name));
  if (missing.length > 0 && textColumns.length === 1) {
    throw userError(ErrorCodes.MISSING_COLUMN, `The header has no column ${quoteInput(textColumns[0])} for the text; the columns found are ${found()}. Name the text column with ${textOption}.`, { missing });
  }
  if (missing.length > 0) {
    throw userError(
      ErrorCodes.MISSING_COLUMN,
      `The header has no ${missing.length === 1 ? 'column' : 'columns'} ${quoteList(missing)} of the text columns ${quoteList(textColumns)}; the columns found are ${found()}. Name the text columns with ${textOption}.`,
      { missing },
    );
  }
  if (idColumn && !header.includes(idColumn)) {
    throw userError(ErrorCodes.MISSING_COLUMN, `The header has no id column ${quoteInput(idColumn)}; the columns found are ${found()}.`, { missing: [idColumn] });
  }
  // Two columns of one name: which one holds the text (or id) is a guess; it was silently the first.
  for (const name of idColumn ? [...textColumns, idColumn] : textColumns) {
    const positions = header.flatMap((column, i) => (column === name ? [i + 1] : []));
    if (positions.length > 1) {
      throw userError(ErrorCodes.DUPLICATE_COLUMN, `The header names the column ${quoteInput(name)} ${positions.length} times (columns ${positions.join(', ')}), so which one to read is not known; rename the others.`, { column: name, positions });
    }
  }
  return { text: textColumns.map((name) => header.indexOf(name)), id: idColumn ? header.indexOf(idColumn) : -1 };
}

/**
 * A JSON Lines row's id as text: a number as the line writes it (a 64-bit id would come back from
 * JSON.parse rounded to a double's 17 digits, see json-number-texts.ts), anything else as String
 * gives it; null when there is none.
 */
function idText(id: unknown, line: string, idColumn: string | null | undefined): string | null {
  if (id === undefined || id === null) return null;
  if (typeof id === 'number' && idColumn) return numberTexts(line).get(idColumn) ?? String(id);
  return String(id);
}

/**
 * Rows of JSON Lines (one JSON object a line), streamed. A row whose object lacks the text field
 * is kept, with a null text, and fails alone; a line that is not a JSON object is the caller's
 * error, naming the line.
 */
export async function* jsonlRows(input: TextInput, options: ColumnOptions): AsyncGenerator<InputRow[]> {
  let line = 0;
  let index = 0;
  const toRow = (raw: string): InputRow | null => {
    line++;
    const trimmed = line === 1 ? raw.replace(/^\uFEFF/, '').trim() : raw.trim();
    if (trimmed === '') return null;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      // V8's message quotes the line, shortened in today's versions: shortened again to be sure.
      throw userError(ErrorCodes.MALFORMED_JSON, `Line ${line} is not valid JSON (${shortened((error as Error).message)}); JSON Lines needs one JSON object a line.`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw userError(ErrorCodes.MALFORMED_JSON, `Line ${line} is not a JSON object; JSON Lines needs one object a line, such as {${quoteInput(options.textColumns[0])}: "..."}.`);
    }
    const record = value as Record<string, unknown>;
    const id = options.idColumn ? record[options.idColumn] : undefined;
    return { index: index++, id: idText(id, trimmed, options.idColumn), text: joinedText(options.textColumns.map((name) => record[name])) };
  };
  for await (const lines of textLines(typeof input === 'string' ? [input] : input)) {
    const rows = lines.map(toRow).filter((row): row is InputRow => row !== null);
    if (rows.length > 0) yield rows;
  }
}
