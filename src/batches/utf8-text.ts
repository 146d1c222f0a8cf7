import { isUtf8 } from 'node:buffer';
import { ErrorCodes, userError } from '../errors';

/**
 * Checks a byte stream as strict UTF-8, chunk by chunk, and passes the bytes on unchanged, so a
 * file of any size streams through in constant memory and a byte parser (csv-parse) reads them
 * without a decode and re-encode. Every chunk passed on ends on a character boundary. The first
 * byte that is not UTF-8 stops the stream with a `NOT_UTF8` error naming its byte offset and
 * line, instead of being silently replaced with U+FFFD and labelled.
 */
export async function* utf8Bytes(bytes: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<Buffer> {
  // Bytes before `pending` (the start of a character the next chunk finishes), and the lines they end.
  let offset = 0;
  let lines = 0;
  let pending: Buffer = Buffer.alloc(0);
  for await (const piece of bytes) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    // Nearly always nothing is pending: then the chunk is not copied.
    const seen = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    const held = incompleteTail(seen);
    const done = seen.subarray(0, seen.length - held);
    // isUtf8 is native and fast; the byte-by-byte search only runs to name the bad byte.
    if (!isUtf8(done)) throw notUtf8(seen, offset, lines);
    offset += done.length;
    lines += countNewlines(done);
    pending = seen.subarray(seen.length - held);
    if (done.length > 0) yield done;
  }
  if (pending.length > 0) throw notUtf8(pending, offset, lines, true);
}

/** The same check as `utf8Bytes`, yielding the text. */
export async function* utf8Text(bytes: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<string> {
  // Each chunk ends on a character boundary, so decoding it alone is exact.
  for await (const chunk of utf8Bytes(bytes)) yield chunk.toString('utf8');
}

function notUtf8(bytes: Uint8Array, offset: number, lines: number, truncated = false) {
  const bad = truncated ? 0 : firstInvalidByte(bytes);
  const at = offset + bad;
  const line = lines + countNewlines(bytes.subarray(0, bad)) + 1;
  return userError(
    ErrorCodes.NOT_UTF8,
    `The input is not UTF-8: the byte at offset ${at} (line ${line}) ${truncated ? 'starts a character the input ends inside of' : 'is not valid UTF-8'}. Save the file as UTF-8 and send it again.`,
    { byteOffset: at, line },
  );
}

function countNewlines(bytes: Uint8Array): number {
  let count = 0;
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) count++;
  return count;
}

/** Length of a UTF-8 sequence its lead byte announces (0 for a byte that cannot lead one). */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** The range the byte after `lead` must be in: this is what rules out overlongs and surrogates. */
function secondByteRange(lead: number): [number, number] {
  if (lead === 0xe0) return [0xa0, 0xbf];
  if (lead === 0xed) return [0x80, 0x9f];
  if (lead === 0xf0) return [0x90, 0xbf];
  if (lead === 0xf4) return [0x80, 0x8f];
  return [0x80, 0xbf];
}

/**
 * The UTF-8 sequence that starts at `bytes[i]` (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF): its length when whole and valid, 'invalid', or 'cut' when every byte
 * present is right but the bytes end before it does.
 */
function sequenceAt(bytes: Uint8Array, i: number): number | 'invalid' | 'cut' {
  const lead = bytes[i];
  const length = sequenceLength(lead);
  if (length === 0) return 'invalid';
  const [low, high] = secondByteRange(lead);
  for (let k = 1; k < length; k++) {
    if (i + k >= bytes.length) return 'cut';
    const byte = bytes[i + k];
    if (k === 1 ? byte < low || byte > high : (byte & 0xc0) !== 0x80) return 'invalid';
  }
  return length;
}

/** Bytes at the end that validly start a character not finished yet (0 to 3). */
function incompleteTail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back];
    if ((byte & 0xc0) !== 0x80) return sequenceAt(bytes, bytes.length - back) === 'cut' ? back : 0;
  }
  return 0;
}

/** Offset of the first byte that breaks UTF-8. Only the error path calls it, so it may go byte by byte. */
function firstInvalidByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const sequence = sequenceAt(bytes, i);
    if (typeof sequence !== 'number') return i;
    i += sequence;
  }
  return bytes.length;
}
