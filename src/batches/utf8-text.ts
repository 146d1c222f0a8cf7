import { ErrorCodes, userError } from '../errors';

/**
 * Decodes a byte stream as strict UTF-8, chunk by chunk, so a file of any size streams through
 * in constant memory. The first byte that is not UTF-8 stops the stream with a `NOT_UTF8` error
 * naming its byte offset and line, instead of being silently replaced with U+FFFD and labelled.
 */
export async function* utf8Text(bytes: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  // Bytes before `pending` (the start of a sequence the decoder still holds back), and the lines they end.
  let offset = 0;
  let lines = 0;
  let pending: Uint8Array = new Uint8Array(0);
  for await (const piece of bytes) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    // Nearly always nothing is pending: then the chunk is not copied.
    const seen = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw notUtf8(seen, offset, lines);
    }
    const held = incompleteTail(seen);
    const done = seen.subarray(0, seen.length - held);
    offset += done.length;
    lines += countNewlines(done);
    pending = seen.subarray(seen.length - held);
    if (text !== '') yield text;
  }
  try {
    const rest = decoder.decode();
    if (rest !== '') yield rest;
  } catch {
    throw notUtf8(pending, offset, lines, true);
  }
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

/** Bytes at the end of valid UTF-8 that start a sequence not finished yet (0 to 3). */
function incompleteTail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back];
    if ((byte & 0xc0) !== 0x80) return sequenceLength(byte) > back ? back : 0;
  }
  return 0;
}

/**
 * Offset of the first byte that breaks UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF). Only the error path calls it, so it may go byte by byte.
 */
function firstInvalidByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    const length = sequenceLength(lead);
    if (length === 0) return i;
    // The second byte's range depends on the lead byte (this is what rules out overlongs and surrogates).
    const [low, high] = lead === 0xe0 ? [0xa0, 0xbf] : lead === 0xed ? [0x80, 0x9f] : lead === 0xf0 ? [0x90, 0xbf] : lead === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    for (let k = 1; k < length; k++) {
      if (i + k >= bytes.length) return i;
      const byte = bytes[i + k];
      if (k === 1 ? byte < low || byte > high : (byte & 0xc0) !== 0x80) return i;
    }
    i += length;
  }
  return bytes.length;
}
