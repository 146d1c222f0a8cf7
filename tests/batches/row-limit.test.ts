import { rowLimited } from '../../src/batches/row-limit';
import { ErrorCodes, isSiftError, type SiftError } from '../../src/errors';

/** `bytes` cut at `cuts` (ascending offsets). */
function* pieces(bytes: Buffer, cuts: number[]): Generator<Buffer> {
  let start = 0;
  for (const at of [...cuts, bytes.length]) {
    yield bytes.subarray(start, at);
    start = at;
  }
}

async function* asAsync(chunks: Iterable<Buffer>): AsyncGenerator<Buffer> {
  yield* chunks;
}

/** What `rowLimited` passes on, or the error it stops with. */
async function run(chunks: Iterable<Buffer>, max: number): Promise<{ out: Buffer[]; error: SiftError | null }> {
  const out: Buffer[] = [];
  try {
    for await (const chunk of rowLimited(asAsync(chunks), max)) out.push(chunk);
    return { out, error: null };
  } catch (error) {
    if (!isSiftError(error)) throw error;
    return { out, error };
  }
}

describe('rowLimited', () => {
  it('passes the bytes on unchanged, chunk for chunk, when every row fits', async () => {
    const bytes = Buffer.from('text\r\nun été ☺\n\n{"a": 1}\nlast line');
    const chunks = [...pieces(bytes, [3, 7, 8, 20])];
    const { out, error } = await run(chunks, 16);
    expect(error).toBeNull();
    expect(out).toEqual(chunks);
    expect(out.every((chunk, i) => chunk === chunks[i])).toBe(true);
  });

  it('takes a row of exactly the limit, its line end (LF or CRLF) not counted, and refuses one byte more', async () => {
    const max = 10;
    const row = 'x'.repeat(max);
    for (const text of [`${row}\n`, `${row}\r\n`, `a\n${row}\r\nb`, row, `${row}\r`, `\n\n${row}`]) {
      const bytes = Buffer.from(text);
      for (let at = 0; at <= bytes.length; at++) {
        expect([text, at, (await run(pieces(bytes, [at]), max)).error]).toEqual([text, at, null]);
      }
    }
    for (const [text, line] of [[`${row}x\n`, 1], [`${row}x\r\n`, 1], [`a\r\n${row}\rx\n`, 2], [`a\nb\n${row}x`, 3], [`${row}\r\r\n`, 1]] as const) {
      const bytes = Buffer.from(text);
      for (let at = 0; at <= bytes.length; at++) {
        const { error } = await run(pieces(bytes, [at]), max);
        expect([text, at, error?.code, error?.details]).toEqual([text, at, ErrorCodes.ROW_TOO_LARGE, { line, maxRowBytes: max }]);
      }
    }
  });

  it('counts bytes, not characters: a row of multi-byte characters passes the limit by its UTF-8 length', async () => {
    // Four characters, twelve bytes.
    expect((await run([Buffer.from('☺☺☺☺\n')], 12)).error).toBeNull();
    expect((await run([Buffer.from('☺☺☺☺\n')], 11)).error?.details).toEqual({ line: 1, maxRowBytes: 11 });
  });

  it('names the line of the long row with CRLF line ends, however the bytes are cut (each cut, and each pair of cuts)', async () => {
    const text = 'text,id\r\nshort,1\r\n\r\n"fine, too",2\r\nthis row is far too long,3\r\nafter,4\r\n';
    const bytes = Buffer.from(text);
    for (let a = 0; a <= bytes.length; a++) {
      for (let b = a; b <= bytes.length; b++) {
        const { error } = await run(pieces(bytes, [a, b]), 16);
        expect([a, b, error?.details]).toEqual([a, b, { line: 5, maxRowBytes: 16 }]);
      }
    }
  });

  it('refuses a 50 MB line after reading at most the limit plus the one piece that passed it, and passes none of that piece on', async () => {
    const max = 64 * 1024;
    const pieceSize = 64 * 1024;
    const before = Buffer.from('{"text": "a short row"}\n{"text": "another"}\n');
    let pulled = 0;
    function* source(): Generator<Buffer> {
      pulled += before.length;
      yield before;
      const piece = Buffer.alloc(pieceSize, 'a');
      for (let sent = 0; sent < 50 * 1024 * 1024; sent += pieceSize) {
        pulled += piece.length;
        yield piece;
      }
    }
    const { out, error } = await run(source(), max);
    expect(error?.code).toBe(ErrorCodes.ROW_TOO_LARGE);
    expect(error?.details).toEqual({ line: 3, maxRowBytes: max });
    expect(error?.message).toMatch(/^Line 3 is longer than 65536 bytes, the most SIFT_MAX_ROW_BYTES lets one row have\./);
    expect(pulled).toBeLessThanOrEqual(before.length + max + pieceSize);
    // The piece that passed the limit is not passed on: a parser never holds more than the limit of one row.
    const passedOn = out.reduce((sum, chunk) => sum + chunk.length, 0);
    expect(passedOn).toBeLessThanOrEqual(before.length + max);
    expect(passedOn).toBe(pulled - pieceSize);
  });
});
