import { boundedRow, MAX_ID_LENGTH } from '../../src/batches/row-bounds';
import { isSiftError } from '../../src/errors';
import { textProblem } from '../../src/predictions/text-rules';

const MAX = 100;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const row = (text: string | null, id: string | null = 'r') => ({ index: 6, id, text });

/** The verdict textProblem gives the whole text and its stored form, and the stored form's length. */
function stored(text: string) {
  const kept = boundedRow(row(text), MAX).text!;
  return { kept, whole: textProblem(text, MAX)?.code ?? null, cut: textProblem(kept, MAX)?.code ?? null };
}

describe('boundedRow: what a stored row may hold', () => {
  it('keeps every text a model could read, and rows without a text or id, as they are', () => {
    for (const text of ['a short text', 'é'.repeat(MAX), '😀'.repeat(MAX), ' '.repeat(2 * MAX + 2), 'x'.repeat(2 * MAX + 2)]) {
      const input = row(text);
      expect(boundedRow(input, MAX)).toBe(input);
    }
    const bare = row(null, null);
    expect(boundedRow(bare, MAX)).toBe(bare);
  });

  it('cuts a longer text to its beginning, so that it fails as the whole text does', () => {
    const cases = [
      'word '.repeat(10_000),
      'x'.repeat(1024 ** 2),
      // a surrogate pair across the cut is not split
      'a' + '😀'.repeat(5_000),
      '😀'.repeat(5_000),
      // blank beginnings: the cut keeps a character that is not white space
      ' '.repeat(5_000) + 'one word',
      '\t\n '.repeat(2_000) + '😀 at the end',
      // blank up to the cut, where half of a surrogate pair (or a lone one) would be cut off
      ' '.repeat(2 * MAX + 1) + '😀x',
      '\u00a0'.repeat(2 * MAX + 1) + '😀x',
      '\ufeff'.repeat(2 * MAX + 1) + '\ud800x',
      // blank throughout
      ' \n'.repeat(5_000),
    ];
    for (const text of cases) {
      const { kept, whole, cut } = stored(text);
      expect({ text: text.slice(0, 20), verdict: cut }).toEqual({ text: text.slice(0, 20), verdict: whole });
      expect(kept.length).toBeLessThanOrEqual(2 * MAX + 2);
      // A pair is never split (a lone surrogate of the text's own may stay).
      if (!LONE_SURROGATE.test(text)) expect(kept).not.toMatch(LONE_SURROGATE);
    }
    expect(stored('word '.repeat(10_000)).kept).toBe('word '.repeat(10_000).slice(0, 2 * MAX + 2));
    expect(stored('x'.repeat(5_000)).cut).toBe('TEXT_TOO_LONG');
    expect(stored(' '.repeat(5_000) + 'one word').cut).toBe('TEXT_TOO_LONG');
    expect(stored(' '.repeat(2 * MAX + 1) + '😀x').cut).toBe('TEXT_TOO_LONG');
    expect(stored(' \n'.repeat(5_000))).toMatchObject({ kept: '', cut: 'EMPTY_TEXT' });
  });

  it('refuses a row whose id is longer than MAX_ID_LENGTH characters, naming the row', () => {
    expect(boundedRow(row('t', 'i'.repeat(MAX_ID_LENGTH)), MAX).id).toHaveLength(MAX_ID_LENGTH);
    // characters, not UTF-16 units
    expect(boundedRow(row('t', '😀'.repeat(MAX_ID_LENGTH)), MAX).id).toHaveLength(2 * MAX_ID_LENGTH);
    let thrown: unknown;
    try {
      boundedRow(row('t', 'i'.repeat(MAX_ID_LENGTH + 1)), MAX);
    } catch (error) {
      thrown = error;
    }
    expect(isSiftError(thrown) && thrown.code).toBe('ID_TOO_LONG');
    expect((thrown as Error).message).toContain('Row 7 ');
    expect((thrown as Error).message).toContain(`more than ${MAX_ID_LENGTH} characters`);
  });
});
