/**
 * The lines of a streamed text, as arrays: the lines each piece completes (without their `\n`),
 * then whatever follows the last `\n` once the text ends. A line may end in `\r` (CRLF): callers
 * trim. Used for JSON Lines going in (uploads, the CLI's input) and coming out (downloads).
 *
 * Linear in the text, however long its lines: each piece is split once, on its own, and the
 * pieces of a line not finished yet are kept as they came and joined once, when its `\n` arrives.
 * (Appending each piece to what was held and splitting the whole again made a 50 MB line cost
 * seconds of blocked event loop, and more the longer the line.)
 */
export async function* textLines(pieces: AsyncIterable<string> | Iterable<string>): AsyncGenerator<string[]> {
  // The pieces of the line not finished yet, none holding a `\n`.
  let held: string[] = [];
  for await (const piece of pieces) {
    const parts = piece.split('\n');
    if (parts.length === 1) {
      if (piece !== '') held.push(piece);
      continue;
    }
    const rest = parts.pop()!;
    if (held.length > 0) {
      held.push(parts[0]);
      parts[0] = held.join('');
    }
    held = rest === '' ? [] : [rest];
    yield parts;
  }
  if (held.length > 0) yield [held.join('')];
}
