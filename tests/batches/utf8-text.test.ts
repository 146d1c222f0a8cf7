import { isSiftError, type SiftError } from '../../src/errors';
import { utf8Bytes, utf8Text } from '../../src/batches/utf8-text';

async function* pieces(bytes: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    yield bytes.subarray(start, cut);
    start = cut;
  }
}

/** Through `utf8Text`, and through `utf8Bytes` with every chunk it passes on decoded alone. */
async function decodeBoth(bytes: Buffer, cuts: number[] = []): Promise<[string, string]> {
  let text = '';
  for await (const piece of utf8Text(pieces(bytes, cuts))) text += piece;
  let fromBytes = '';
  for await (const chunk of utf8Bytes(pieces(bytes, cuts))) fromBytes += new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(chunk);
  return [text, fromBytes];
}

async function decode(bytes: Buffer, cuts: number[] = []): Promise<string> {
  const [text, fromBytes] = await decodeBoth(bytes, cuts);
  // Each chunk utf8Bytes passes on ends on a character boundary, or the fatal decoder would throw.
  expect(fromBytes).toBe(text);
  return text;
}

/** The error of `utf8Bytes` (which `utf8Text` reads through) on `bytes` cut at `cuts`. */
async function failure(bytes: Buffer, cuts: number[] = []): Promise<SiftError> {
  const drain = async () => {
    for await (const chunk of utf8Bytes(pieces(bytes, cuts))) void chunk;
  };
  const error = await drain().then(() => null, (e: unknown) => e);
  if (!isSiftError(error)) throw new Error(`expected a NOT_UTF8 error, got ${String(error)}`);
  return error;
}

describe('utf8Bytes and utf8Text', () => {
  const valid = Buffer.from('\uFEFFtext\r\ncafé ☺ 𝄞\nnaïve 日本語\n');

  it('decodes the same text however the bytes are cut, keeping the byte-order mark for the parser', async () => {
    expect(await decode(valid)).toBe(valid.toString('utf8'));
    for (let a = 0; a <= valid.length; a++) {
      for (const b of [a + 1, a + 2, a + 3]) {
        expect(await decode(valid, b <= valid.length ? [a, b] : [a])).toBe(valid.toString('utf8'));
      }
    }
  });

  // Each case: bytes, offset of the first bad byte, its line.
  const cases: [string, Buffer, number, number][] = [
    ['a Latin-1 byte', Buffer.from('ab\ncaf\xe9\n', 'latin1'), 6, 2],
    ['a lone continuation byte', Buffer.concat([Buffer.from('x\ny\nz'), Buffer.from([0x80])]), 5, 3],
    ['an overlong slash', Buffer.concat([Buffer.from('ok '), Buffer.from([0xc0, 0xaf])]), 3, 1],
    ['an encoded surrogate', Buffer.concat([Buffer.from('ok\n'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('!')]), 3, 2],
    ['a code point above U+10FFFF', Buffer.concat([Buffer.from('☺'), Buffer.from([0xf4, 0x90, 0x80, 0x80])]), 3, 1],
    ['a sequence cut short by a newline', Buffer.concat([Buffer.from('é'), Buffer.from([0xe2, 0x98]), Buffer.from('\nnext')]), 2, 1],
  ];

  it.each(cases)('names the offset and line of %s, however the bytes are cut', async (_name, bytes, offset, line) => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const error = await failure(bytes, [cut]);
      expect(error.code).toBe('NOT_UTF8');
      expect(error.details).toEqual({ byteOffset: offset, line });
      expect(error.message).toContain(`offset ${offset} (line ${line})`);
    }
  });

  it('refuses input that ends inside a character', async () => {
    // (Both functions: decode runs utf8Text and utf8Bytes.)
    const bytes = Buffer.concat([Buffer.from('text\nab'), Buffer.from([0xe2, 0x98])]);
    const error = await failure(bytes, [8]);
    expect(error.details).toEqual({ byteOffset: 7, line: 2 });
    expect(error.message).toMatch(/ends inside of/);
  });
});
