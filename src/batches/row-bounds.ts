import { ErrorCodes, userError } from '../errors';
import { characterCount } from '../predictions/text-rules';
import type { InputRow } from './batch-types';

/**
 * What a stored row may hold. A chunk is a fixed number of rows (a row's index names its chunk),
 * so its bytes are bounded only if each row's are: an upload's rows may be as long as
 * SIFT_MAX_ROW_BYTES (1 MiB), and a chunk of a thousand such rows was a gigabyte in the API's
 * memory and past Redis's 512 MB limit for one value. A text longer than its model reads fails
 * anyway (TEXT_TOO_LONG), so only its beginning is kept; an id names a row in the results and is
 * never cut (two cut ids could become one), so a longer one refuses the upload.
 */

/** The most characters a row's id may have. */
export const MAX_ID_LENGTH = 1000;

/**
 * The row as it is stored: a text longer than the model reads cut to its beginning, still long
 * enough (and still not blank) that textProblem judges it as it did the whole text. Throws
 * ID_TOO_LONG for an id over MAX_ID_LENGTH characters.
 */
export function boundedRow(row: InputRow, maxTextLength: number): InputRow {
  if (row.id !== null && row.id.length > MAX_ID_LENGTH && characterCount(row.id, MAX_ID_LENGTH) > MAX_ID_LENGTH) {
    throw userError(
      ErrorCodes.ID_TOO_LONG,
      `Row ${row.index + 1} (counting from 1, the header not counted) has an id of more than ${MAX_ID_LENGTH} characters, the most an id may have. Shorten the ids, or choose another id column (or none).`,
      { row: row.index + 1, maxIdLength: MAX_ID_LENGTH },
    );
  }
  const text = row.text;
  // A character is one or two UTF-16 units: a text of at most this many units is never too long.
  const keep = 2 * maxTextLength + 2;
  if (text === null || text.length <= keep) return row;
  return { index: row.index, id: row.id, text: copied(beginning(text, keep)) };
}

/**
 * The same text in memory of its own. V8 keeps a slice of a long string as a view of the whole,
 * so a cut text would keep its 200 KB original alive for as long as its chunk is.
 */
function copied(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le');
}

/**
 * The first `units` UTF-16 units of a text longer than that: more than `units / 2` characters,
 * so too long for the model, as the whole text is, and blank only when the whole is (EMPTY_TEXT).
 * A surrogate pair is never split. A text whose beginning is all white space keeps that white
 * space, less two units, and its first other character.
 */
function beginning(text: string, units: number): string {
  let cut = text.slice(0, units);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  if (cut.trim() !== '') return cut;
  const rest = text.trimStart();
  if (rest === '') return '';
  // White space is all in the Basic Multilingual Plane: one unit a character.
  return cut.slice(0, units - 2) + String.fromCodePoint(rest.codePointAt(0)!);
}
