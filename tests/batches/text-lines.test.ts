import { textLines } from '../../src/batches/text-lines';

async function linesOf(pieces: Iterable<string> | AsyncIterable<string>): Promise<string[][]> {
  const yielded: string[][] = [];
  for await (const lines of textLines(pieces)) yielded.push(lines);
  return yielded;
}

/** `text` cut at `cuts` (ascending offsets). */
function cut(text: string, cuts: number[]): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (const at of [...cuts, text.length]) {
    pieces.push(text.slice(start, at));
    start = at;
  }
  return pieces;
}

describe('textLines', () => {
  // Empty lines, CRLF, a last line without `\n`, characters outside the BMP.
  const text = '{"a":1}\r\n\n{"b":"☺ 𝄞"}\nx\r\n\r\n\nlast';
  const expected = text.split('\n');

  it('yields every line once, in order, however the text is cut (each cut, and each pair of cuts)', async () => {
    for (let a = 0; a <= text.length; a++) {
      for (let b = a; b <= text.length; b++) {
        const yielded = await linesOf(cut(text, [a, b]));
        expect([a, b, yielded.flat()]).toEqual([a, b, expected]);
        // Nothing is yielded empty: a piece that completes no line yields nothing.
        expect(yielded.every((lines) => lines.length > 0)).toBe(true);
      }
    }
  });

  it('yields the lines each piece completes as soon as it arrives, and the rest once the text ends', async () => {
    expect(await linesOf(['ab', 'c\nde', 'f\ng\nh', '', 'i'])).toEqual([['abc'], ['def', 'g'], ['hi']]);
    expect(await linesOf(['\n', '\n\n'])).toEqual([[''], ['', '']]);
    expect(await linesOf(['a\n'])).toEqual([['a']]);
    expect(await linesOf([])).toEqual([]);
    expect(await linesOf(['', ''])).toEqual([]);
  });

  it('reads an async stream of pieces', async () => {
    async function* pieces() {
      yield 'one\ntw';
      await new Promise((resolve) => setImmediate(resolve));
      yield 'o\nthree';
    }
    expect((await linesOf(pieces())).flat()).toEqual(['one', 'two', 'three']);
  });

  it('joins a 50 MB line sent in 64 KB pieces once, whole, beside the lines around it', async () => {
    const piece = 'abcdefgh'.repeat(8 * 1024);
    const count = Math.ceil((50 * 1024 * 1024) / piece.length);
    // Each piece is handed over only when asked for, and none is yielded back before the `\n`.
    let handedOver = 0;
    let yieldsDuringTheLine = 0;
    function* pieces() {
      yield 'before\n';
      for (; handedOver < count; handedOver++) yield piece;
      yield '\nafter';
    }
    const yielded: string[][] = [];
    for await (const lines of textLines(pieces())) {
      if (handedOver > 0 && handedOver < count) yieldsDuringTheLine++;
      yielded.push(lines);
    }
    expect(yieldsDuringTheLine).toBe(0);
    expect(yielded.map((lines) => lines.length)).toEqual([1, 1, 1]);
    const [[before], [long], [after]] = yielded;
    expect([before, after]).toEqual(['before', 'after']);
    expect(long.length).toBe(count * piece.length);
    // Compared as a boolean: a failing toBe would print 50 MB.
    expect(long === piece.repeat(count)).toBe(true);
  });
});
