import { ErrorCodes, userError } from '../errors';

/** Line feed, the byte every line of CSV and JSON Lines ends with (CRLF too). */
const LF = 10;
const CR = 13;

/**
 * Passes an upload's bytes on unchanged, and refuses it with `ROW_TOO_LARGE` as soon as one line
 * grows past `maxRowBytes` bytes (its line end, `\n` or `\r\n`, not counted), naming the line.
 *
 * It works on the bytes, before anything decodes or parses them, and looks at each byte once
 * (a native `indexOf` per line end), so a file that is one 2 GiB line costs no more than any other
 * and is refused after at most `maxRowBytes` bytes of that line plus the one chunk that passed the
 * limit: the chunk is checked before it is passed on, and nothing more is read.
 */
export async function* rowLimited(bytes: AsyncIterable<Buffer>, maxRowBytes: number): AsyncGenerator<Buffer> {
  // The line being read: its number, the bytes of it seen so far, and whether the last is a `\r`.
  let line = 1;
  let rowBytes = 0;
  let endsInCr = false;
  const tooLong = () =>
    userError(
      ErrorCodes.ROW_TOO_LARGE,
      `Line ${line} is longer than ${maxRowBytes} bytes, the most SIFT_MAX_ROW_BYTES lets one row have. Check that the file has one row a line (a file without line breaks reads as one long row), or split that row.`,
      { line, maxRowBytes },
    );
  for await (const chunk of bytes) {
    let start = 0;
    for (let end = chunk.indexOf(LF); end !== -1; end = chunk.indexOf(LF, start)) {
      const cr = end > 0 ? chunk[end - 1] === CR : endsInCr;
      if (rowBytes + (end - start) - (cr ? 1 : 0) > maxRowBytes) throw tooLong();
      line++;
      rowBytes = 0;
      start = end + 1;
    }
    if (chunk.length > 0) {
      rowBytes += chunk.length - start;
      endsInCr = chunk[chunk.length - 1] === CR;
    }
    // A `\r` at the end may be the start of a CRLF line end: it counts once the line goes on.
    if (rowBytes - (endsInCr ? 1 : 0) > maxRowBytes) throw tooLong();
    yield chunk;
  }
}
