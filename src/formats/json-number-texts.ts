/**
 * The numbers of a JSON object's own members as they are written in its text. JSON.parse makes
 * every number a double: a 64-bit id such as 12345678901234567890 comes back as
 * 12345678901234567000 and `1.10` as 1.1, so whoever writes a parsed number back out (an id echoed
 * in results, a JSON Lines field written to a CSV cell) would change the user's data. With the
 * text, they write what the user wrote. (JSON.parse's access to the source text, which would do
 * this, arrives after Node 20.)
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * For `text`, a JSON object that JSON.parse accepts, each member whose value is a number, by name,
 * with the number's text (the last one for a name written twice, as JSON.parse keeps the last).
 * Nested objects and arrays are skipped whole. Linear in the text.
 */
export function numberTexts(text: string): Map<string, string> {
  const numbers = new Map<string, string>();
  let at = skipSpace(text, 0);
  if (text.charCodeAt(at) !== 0x7b /* { */) return numbers;
  at = skipSpace(text, at + 1);
  while (at < text.length && text.charCodeAt(at) !== 0x7d /* } */) {
    const nameEnd = stringEnd(text, at);
    const name = JSON.parse(text.slice(at, nameEnd)) as string;
    at = skipSpace(text, skipSpace(text, nameEnd) + 1); // past the colon
    const valueEnd = valueEndAt(text, at);
    const first = text.charCodeAt(at);
    if (first === 0x2d /* - */ || (first >= 0x30 && first <= 0x39)) numbers.set(name, text.slice(at, valueEnd));
    else numbers.delete(name);
    at = skipSpace(text, valueEnd);
    if (text.charCodeAt(at) === 0x2c /* , */) at = skipSpace(text, at + 1);
  }
  return numbers;
}

function skipSpace(text: string, at: number): number {
  for (let c = text.charCodeAt(at); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = text.charCodeAt(++at));
  return at;
}

/** The index just past the string that starts (with its quote) at `at`. */
function stringEnd(text: string, at: number): number {
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return text.length;
}

/** The index just past the value that starts at `at`: a string, an object or array (whole), or a number or literal. */
function valueEndAt(text: string, at: number): number {
  const first = text.charCodeAt(at);
  if (first === QUOTE) return stringEnd(text, at);
  if (first === 0x7b || first === 0x5b /* { [ */) {
    let depth = 0;
    for (let i = at; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) i = stringEnd(text, i) - 1;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if ((c === 0x7d || c === 0x5d) && --depth === 0) return i + 1;
    }
    return text.length;
  }
  // A number or true, false, null: up to the separator or the object's end.
  let i = at;
  for (let c = text.charCodeAt(i); i < text.length && c !== 0x2c && c !== 0x7d && c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d; c = text.charCodeAt(++i));
  return i;
}
