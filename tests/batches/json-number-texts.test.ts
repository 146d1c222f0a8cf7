import { jsonlRows } from '../../src/batches/row-sources';
import type { InputRow } from '../../src/batches/batch-types';
import { numberTexts } from '../../src/formats/json-number-texts';

describe('numberTexts: the numbers of an object as its text writes them', () => {
  it('gives each own member whose value is a number, written as it stands', () => {
    const text = '{ "id" : 12345678901234567890, "n":1.0,"e":-1.5E+3 , "s":"12", "t":true, "z":null, "o":{"id":1}, "a":[1,2], "q":"a\\"b,c}", "last": 0 }';
    expect([...numberTexts(text)]).toEqual([
      ['id', '12345678901234567890'],
      ['n', '1.0'],
      ['e', '-1.5E+3'],
      ['last', '0'],
    ]);
  });

  it('reads names with escapes, and keeps the last of a name written twice, as JSON.parse does', () => {
    expect(numberTexts('{"a\\u0062":1,"dup":1,"dup":"x","twice":1,"twice":2.50}')).toEqual(
      new Map([
        ['ab', '1'],
        ['twice', '2.50'],
      ]),
    );
    expect(numberTexts('{}').size).toBe(0);
    expect(numberTexts(' \t{ }').size).toBe(0);
  });

  it('agrees with JSON.parse on 20,000 random objects: every number member, and no other, with the same value', () => {
    let seed = 12345;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
    const numbers = ['0', '-0', '7', '-12', '1.0', '3.14159', '1e5', '2E-3', '-4.5e+10', '12345678901234567890', '9007199254740993', '0.1000000000000000055511151231257827'];
    const strings = ['"x"', '"a,b"', '"}"', '"\\"q\\""', '"{\\"n\\":1}"', '"é 😀"', '""'];
    const value = (depth: number): string => {
      const kind = next();
      if (kind < 0.35) return pick(numbers);
      if (kind < 0.6) return pick(strings);
      if (kind < 0.7) return pick(['true', 'false', 'null']);
      if (depth > 2) return pick(numbers);
      if (kind < 0.85) return `[${Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1)).join(',')}]`;
      return object(depth + 1);
    };
    const space = () => pick(['', '', ' ', '\t', '\n ']);
    const object = (depth: number): string => `{${space()}${Array.from({ length: Math.floor(next() * 6) }, () => `${pick(['"k1"', '"k2"', '"k,3"', '"k\\"4"', '"id"'])}${space()}:${space()}${value(depth)}`).join(`${space()},${space()}`)}${space()}}`;
    for (let i = 0; i < 20_000; i++) {
      const text = object(0);
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const found = numberTexts(text);
      for (const [name, member] of Object.entries(parsed)) {
        if (typeof member === 'number') {
          expect({ text, name, value: Number(found.get(name)) }).toEqual({ text, name, value: member });
          expect(numbers).toContain(found.get(name));
        } else expect({ text, name, found: found.has(name) }).toEqual({ text, name, found: false });
      }
      expect(found.size).toBe(Object.values(parsed).filter((member) => typeof member === 'number').length);
    }
  });
});

describe('a JSON Lines upload with a numeric id', () => {
  it('keeps the id as the line writes it: a 64-bit id is not rounded, 1.0 stays 1.0', async () => {
    const rows: InputRow[] = [];
    const input = '{"id":12345678901234567890,"text":"a"}\n{"text":"b","id": 9007199254740993}\n{"id":1.0,"text":"c"}\n{"id":"s-1","text":"d"}\n{"text":"e"}\n';
    for await (const batch of jsonlRows(input, { textColumns: ['text'], idColumn: 'id' })) rows.push(...batch);
    expect(rows.map((row) => row.id)).toEqual(['12345678901234567890', '9007199254740993', '1.0', 's-1', null]);
    expect(rows.map((row) => row.text)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});
