import type { BatchRowResult } from '../../src/batches/batch-types';
import { ResultFormatter } from '../../src/batches/result-export';
import { OutcomeReader } from '../../src/batches/outcome-reader';
import { chunkOutcomesOf, decodeChunkResults, encodeChunk, encodeChunkOutcomes, encodeChunkOutput, parseChunkResults, type RowOutcome, type StoredResult } from '../../src/batches/row-codec';
import { encodeScores } from '../../src/cache/prediction-cache';
import { csvText, type CsvValue } from '../../src/formats/csv';

describe('results.jsonl rows', () => {
  it('are the JSON of each row object (as GraphQL reads the same stored rows), with and without the echoed id and text', () => {
    const labels = ['NEG', 'POS "q"'];
    const model = { name: 'm', version: 'v', labels };
    // Stored chunks, each with the input it echoes: as the record-chunk script stores them now (a
    // cached row, failed rows, a tie: the first label of equals wins), as the release before
    // stored them (input and outcomes in one value), and as the release before that did.
    const secondInput = encodeChunk([{ index: 2, id: 'x\\', text: 'y,"output":[1]' }, { index: 3, id: '=id', text: '-x,"y"' }]);
    const secondOutcomes = encodeChunkOutcomes([{ scoresJson: '[0.5,0.5]', cached: false, error: null }, { scoresJson: null, cached: false, error: '@err\nline' }]);
    const stored: { value: string; input: string | null }[] = [
      {
        value: encodeChunkOutput(0, encodeChunkOutcomes([{ scoresJson: '[1e-7,0.75]', cached: true, error: null }, { scoresJson: null, cached: false, error: 'The text is empty' }])),
        input: encodeChunk([{ index: 0, id: 'r"0', text: 'a\n"b"\u2028' }, { index: 1, id: null, text: '' }]),
      },
      { value: `{"input":${secondInput},"output":${secondOutcomes}}`, input: null },
      { value: '{"first":4,"rows":[["old","an earlier row",[0.9,0.1],0,null]]}', input: null },
    ];
    const rows: BatchRowResult[] = stored.flatMap(({ value, input }) => decodeChunkResults(parseChunkResults(value, input), model));
    for (const echo of [true, false]) {
      // Without echo the id and text go unread (a download reads the outcomes alone).
      const chunks = stored.map(({ value, input }) => (echo ? parseChunkResults(value, input) : chunkOutcomesOf(Buffer.from(value))));
      const expected = rows.map((row) => {
        const score = (label: string) => row.prediction?.scores.find((s) => s.label === label)?.score ?? null;
        const object: Record<string, unknown> = { index: row.index };
        if (echo) Object.assign(object, { id: row.id, text: row.text });
        Object.assign(object, { label: row.prediction?.label ?? null, score: row.prediction?.score ?? null });
        for (const label of labels) object[`score_${label}`] = score(label);
        Object.assign(object, { cached: row.prediction ? row.prediction.cached : null, error: row.error });
        return `${JSON.stringify(object)}\n`;
      });
      expect(expected[2]).toContain('"label":"NEG"');
      expect(new ResultFormatter('jsonl', labels, echo).rows(chunks)).toBe(expected.join(''));
      // CSV: csvText of the same values (the writer it is built cell by cell to match).
      const values = expected.map((line) => Object.values(JSON.parse(line) as Record<string, CsvValue>));
      expect(new ResultFormatter('csv', labels, echo).rows(chunks)).toBe(csvText(values));
    }
    expect(new ResultFormatter('csv', labels, false).header()).toBe('index,label,score,score_NEG,"score_POS ""q""",cached,error\r\n');
  });
});

describe('a download that echoes no id or text, written from the outcomes text (outcome-reader.ts)', () => {
  // Seeded, so a failure comes back the same.
  let state = 11;
  const random = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  // Plain fractions where one's text is the start of another's (0.5, 0.50000001), and the other forms.
  const scoreValues = [0, 1, 0.5, 0.50000001, 0.05, 0.5000000000000001, 1e-7, 5e-324, 0.1 + 0.2, 1 - 2 ** -53, Math.fround(0.7), NaN, Infinity, -0, -0.25, 2.5];
  const errors = [null, 'The text is empty.', 'quote " and backslash \\', '=SUM(A1)', 'line\nbreak, comma', '"', '\\', '\u2028 and \u0000', '', 'lone \ud800 and \udfff', '/ and \u007f'];
  /** A row's outcome as a worker records it, and the row the formatter reads from the parsed JSON. */
  const randomRow = (): { outcome: RowOutcome; row: StoredResult } => {
    const failed = random(4) === 0;
    const scores = failed ? null : Array.from({ length: random(7) }, () => (random(3) === 0 ? scoreValues[random(scoreValues.length)] : random(1000) / 997));
    const error = failed || random(6) === 0 ? errors[random(errors.length)] : null;
    const outcome = { scoresJson: scores && encodeScores(scores), cached: random(2) === 1, error };
    const [[parsedScores, cached, parsedError]] = JSON.parse(encodeChunkOutcomes([outcome])) as [[number[] | null, 0 | 1, string | null]];
    return { outcome, row: [null, '', parsedScores, cached, parsedError] };
  };

  it('writes the same lines as from the parsed rows, in CSV and JSON Lines, with and without echo', () => {
    const labels = ['a', 'b "q"', '-c', 'd'];
    for (let chunk = 0; chunk < 40; chunk++) {
      const rows = Array.from({ length: random(30) }, randomRow);
      const first = chunk * 1000;
      const outcomes = encodeChunkOutcomes(rows.map((row) => row.outcome));
      for (const format of ['csv', 'jsonl'] as const) {
        for (const echo of [false, true]) {
          const formatter = new ResultFormatter(format, labels, echo);
          expect(formatter.rows([{ first, outcomes }])).toBe(formatter.rows([{ first, rows: rows.map((row) => row.row) }]));
        }
      }
    }
  });

  it('refuses a stored text it did not write, naming where, rather than guessing', () => {
    const refused = ['', '{}', '[[[0.1,0.2],2,null]]', '[[[0.1,0.2],0,null]', '[[[0.1,0.2,0,null]]', '[[null,0,"no end]]', '[[nul,0,null]]', '[[[0.1],0,null][[0.2],0,null]]'];
    // Scores that are not JSON numbers, a trailing comma, text after the end.
    refused.push('[[[1,,2],0,null]]', '[[["a"],0,null]]', '[[[ 0.5],0,null]]', '[[[0.5,01],0,null]]', '[[[NaN],0,null]]', '[[null,0,null],]', '[[null,0,null]]garbage', '[],');
    for (const text of refused) {
      expect(() => {
        const reader = new OutcomeReader(text);
        while (reader.next());
      }).toThrow(/stored outcomes are malformed at character \d+/);
    }
    const empty = new OutcomeReader('[]');
    expect(empty.next()).toBe(false);
  });

  it('picks the first of equal scores, however a cache writer spelled them', () => {
    const best = (scores: string) => {
      const reader = new OutcomeReader(`[[[${scores}],0,null]]`);
      reader.next();
      return reader.bestIndex();
    };
    expect(best('0.5,0.50')).toBe(0);
    expect(best('0.50,0.5')).toBe(0);
    expect(best('0.5,0.5000001')).toBe(1);
    expect(best('0.5000001,0.5')).toBe(0);
    expect(best('0.25,0.3,0.29')).toBe(1);
    expect(best('0.5,5e-1')).toBe(0);
    expect(best('null,0.0')).toBe(0);
    expect(best('null,0.1')).toBe(1);
  });

});
