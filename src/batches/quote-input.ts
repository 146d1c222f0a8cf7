/**
 * Error messages quote the caller's input (a column name, a header, a parser's message about a
 * line), and that input may be megabytes long. These keep every quote to a few hundred characters,
 * saying how long the whole was, so an error body stays small whatever was sent.
 */

/** Characters of one piece of input an error message quotes at most. */
export const QUOTED_INPUT_CHARS = 200;

/** Characters that would break a message's line or move a terminal's cursor: C0 controls, DEL, the Unicode line separators. */
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/g;

/** `text` with each control character (CONTROL) written as its JSON escape: a CR shows as `\r`, not a return. */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/**
 * `text` made printable (`printable`), as it is when at most `max` characters long, else its
 * first `max` characters, an ellipsis and its length: `aaaa… (5242880 characters)`. Never cuts a
 * surrogate pair in two.
 */
export function shortened(text: string, max = QUOTED_INPUT_CHARS): string {
  const shown = printable(text);
  return shown.length <= max ? shown : `${head(shown, max)}… (${text.length} characters)`;
}

/** `text` in double quotes, as JSON writes it, shortened as `shortened` does when longer than `max`. */
export function quoteInput(text: string, max = QUOTED_INPUT_CHARS): string {
  return text.length <= max ? JSON.stringify(text) : `${JSON.stringify(head(text, max))}… (${text.length} characters)`;
}

/**
 * Names quoted (each as `quoteInput` does) and separated by commas, as many as fit in about `max`
 * characters (at least one), then how many more there are: `"id", "body" and 99998 more`.
 */
export function quoteList(names: readonly string[], max = 2 * QUOTED_INPUT_CHARS): string {
  const quoted: string[] = [];
  let length = 0;
  for (const name of names) {
    const quote = quoteInput(name);
    if (quoted.length > 0 && length + quote.length > max) break;
    quoted.push(quote);
    length += quote.length + 2;
  }
  const more = names.length - quoted.length;
  return more > 0 ? `${quoted.join(', ')} and ${more} more` : quoted.join(', ');
}

/** The first `max` characters, one fewer when the last would be the first half of a surrogate pair. */
function head(text: string, max: number): string {
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
