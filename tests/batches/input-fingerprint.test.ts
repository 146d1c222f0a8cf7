import { createHash } from 'node:crypto';
import { InputFingerprint, isLegacyFingerprint, LegacyInputFingerprint } from '../../src/batches/input-fingerprint';
import type { InputRow } from '../../src/batches/batch-types';
import { encodeChunk, storedRowsJson } from '../../src/batches/row-codec';

/** The fingerprint as it was first written, a hash update and two JSON.stringify a row: what keys recorded before InputFingerprint hold. */
function asFirstWritten(model: string, rows: readonly InputRow[]): string {
  const hash = createHash('sha256').update(JSON.stringify(model));
  for (const row of rows) hash.update(`\n${JSON.stringify(row.id)},${JSON.stringify(row.text)}`);
  return hash.digest('base64url');
}

const rows = (texts: (string | null)[], ids: (string | null)[] = texts.map(() => null)): InputRow[] => texts.map((text, index) => ({ index, id: ids[index], text }));

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

/** The JSON of rows as a chunk stores them (what the fingerprint hashes). */
const storedRows = (input: readonly InputRow[]) => storedRowsJson(encodeChunk(input));

/** The JSON array of the rows' [id, text] pairs. */
const pairsJson = (input: readonly InputRow[]) => JSON.stringify(input.map((row) => [row.id, row.text]));

/** The digest of `input` stored in chunks of `size` rows. */
function digest(input: readonly InputRow[], size = input.length, model = 'sentiment'): string {
  const fingerprint = new InputFingerprint(model);
  for (let at = 0; at < input.length; at += size) fingerprint.addStoredRows(storedRows(input.slice(at, at + size)));
  return fingerprint.digest();
}

describe('InputFingerprint', () => {
  it('is the same however the rows are cut into chunks, and differs when any row, or their order, does', () => {
    const all = rows(texts, ids);
    const whole = digest(all);
    for (const size of [1, 2, 4, 8]) expect(digest(all, size)).toBe(whole);
    const fingerprint = new InputFingerprint('sentiment');
    fingerprint.addStoredRows(storedRows([]));
    fingerprint.addStoredRows(storedRows(all));
    expect(fingerprint.digest()).toBe(whole);
    // One character of one row, a row more or less, the order of two rows, the model.
    expect(digest(rows([...texts.slice(0, 7), 'x', null], ids))).not.toBe(whole);
    expect(digest(all.slice(1))).not.toBe(whole);
    expect(digest([all[1], all[0], ...all.slice(2)])).not.toBe(whole);
    expect(digest(all, 3, 'question-type')).not.toBe(whole);
    expect(digest(rows(['b,c'], ['a']))).not.toBe(digest(rows(['c'], ['a,b'])));
    expect(digest(rows(['', '']))).not.toBe(digest(rows([''])));
  });

  it('takes a stored chunk\'s rows as the JSON of their [id, text] pairs, ids that spell its own keys included', () => {
    const all = rows([...texts, ',"rows":[["x"]]'], [...ids, ',"rows":']);
    const stored = encodeChunk(all.map((row) => ({ ...row, index: row.index + 4000 })));
    expect(storedRowsJson(stored)).toBe(pairsJson(all));
    expect(JSON.parse(stored)).toEqual({ first: 4000, rows: JSON.parse(pairsJson(all)) });
  });

  it('is told apart from the form releases before it recorded, whose digests are kept comparable', () => {
    expect(isLegacyFingerprint(digest(rows(texts, ids)))).toBe(false);
    const legacy = new LegacyInputFingerprint('sentiment');
    // Given in pieces of any size, as rows arrive.
    legacy.add(rows(texts, ids).slice(0, 4));
    legacy.add([]);
    legacy.add(rows(texts, ids).slice(4));
    const recorded = legacy.digest();
    expect(recorded).toBe(asFirstWritten('sentiment', rows(texts, ids)));
    expect(isLegacyFingerprint(recorded)).toBe(true);
  });
});
