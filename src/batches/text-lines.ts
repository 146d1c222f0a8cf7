/**
 * The lines of a streamed text, as arrays: the lines each piece completes (without their `\n`),
 * then whatever follows the last `\n` once the text ends. A line may end in `\r` (CRLF): callers
 * trim. Used for JSON Lines going in (uploads, the CLI's input) and coming out (downloads).
 */
export async function* textLines(pieces: AsyncIterable<string> | Iterable<string>): AsyncGenerator<string[]> {
  let buffered = '';
  for await (const piece of pieces) {
    buffered += piece;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    if (lines.length > 0) yield lines;
  }
  if (buffered !== '') yield [buffered];
}
