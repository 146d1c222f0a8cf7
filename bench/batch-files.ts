import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { benchText } from './texts';

/** A generated CSV batch file. */
export interface BatchFile {
  path: string;
  rows: number;
  bytes: number;
  /** Rows whose text an earlier row already had, in % of all rows. */
  repeatedPct: number;
  /** Texts no earlier row had. */
  distinctTexts: number;
  /** UTF-8 bytes of every row's text, summed (no id, quotes or separators). */
  textBytes: number;
}

// Above the online scenarios' text indices (1e6 and up for load hooks), so nothing overlaps.
const FIRST_TEXT = 50_000_000;

/** The first text of a file that shares no text with any file from FIRST_TEXT (of up to 10,000,000 rows): a warm-up's. */
export const OTHER_FIRST_TEXT = 100_000_000;

/**
 * Writes `id,text` CSV with `rows` rows of benchmark sentences, where about `repeatShare` of the
 * rows repeat the text of an earlier row (chosen uniformly), as real inputs repeat themselves.
 * Deterministic for a given seed. Files with different `firstText` (from FIRST_TEXT up) share no text.
 */
export async function writeBatchCsv(path: string, rows: number, repeatShare: number, seed = 7, firstText = FIRST_TEXT): Promise<BatchFile> {
  const out = createWriteStream(path);
  let state = seed >>> 0;
  // xorshift32: cheap, seeded, reproducible.
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  let distinct = 0;
  let repeated = 0;
  let bytes = 0;
  let textBytes = 0;
  let block = 'id,text\n';
  for (let row = 0; row < rows; row++) {
    let text: number;
    if (distinct > 0 && random() < repeatShare) {
      text = Math.floor(random() * distinct);
      repeated++;
    } else {
      text = distinct++;
    }
    // Benchmark sentences hold commas but never quotes: quoting each is enough.
    const sentence = benchText(firstText + text);
    textBytes += Buffer.byteLength(sentence);
    block += `r${row},"${sentence}"\n`;
    if (block.length > 1 << 16 || row === rows - 1) {
      bytes += Buffer.byteLength(block);
      if (!out.write(block)) await once(out, 'drain');
      block = '';
    }
  }
  out.end();
  await once(out, 'finish');
  return { path, rows, bytes, repeatedPct: (100 * repeated) / rows, distinctTexts: distinct, textBytes };
}
