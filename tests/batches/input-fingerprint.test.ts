import { createHash } from 'node:crypto';
import { InputFingerprint } from '../../src/batches/input-fingerprint';
import type { InputRow } from '../../src/batches/batch-types';

/** The fingerprint as it was first written, a hash update and two JSON.stringify a row: what keys recorded before hold. */
function asFirstWritten(model: string, rows: readonly InputRow[]): string {
  const hash = createHash('sha256').update(JSON.stringify(model));
  for (const row of rows) hash.update(`\n${JSON.stringify(row.id)},${JSON.stringify(row.text)}`);
  return hash.digest('base64url');
}

const rows = (texts: (string | null)[], ids: (string | null)[] = texts.map(() => null)): InputRow[] => texts.map((text, index) => ({ index, id: ids[index], text }));

describe('InputFingerprint', () => {
  it('hashes every kind of text to the same digest as the per-row JSON it was first written with', () => {
    const texts = [
      'a plain review',
      'a "quoted" word',
      'back\\slash',
      'tab\there, newline\nthere, and a NUL \u0000',
      'a pair of surrogates 😀',
      'a lone surrogate \ud800 and a lone low one \udc00',
      'line separator \u2028 and paragraph separator \u2029, DEL \u007f',
      '',
      null,
    ];
    const ids = texts.map((_, i) => (i % 3 === 0 ? null : `id "${i}"\\`));
    const fingerprint = new InputFingerprint('sentiment');
    // Given in pieces of any size, as rows arrive.
    fingerprint.add(rows(texts, ids).slice(0, 4));
    fingerprint.add([]);
    fingerprint.add(rows(texts, ids).slice(4));
    expect(fingerprint.digest()).toBe(asFirstWritten('sentiment', rows(texts, ids)));
  });

  it('tells apart rows whose id and text would run together, and the order of rows', () => {
    const digest = (input: InputRow[]) => {
      const fingerprint = new InputFingerprint('sentiment');
      fingerprint.add(input);
      return fingerprint.digest();
    };
    const one = digest(rows(['b,c'], ['a']));
    expect(digest(rows(['c'], ['a,b']))).not.toBe(one);
    expect(digest(rows(['x', 'y']))).not.toBe(digest(rows(['y', 'x'])));
  });
});
