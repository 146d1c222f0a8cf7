import type { BatchRowResult } from '../../src/batches/batch-types';
import { ResultFormatter } from '../../src/batches/result-export';
import { csvText, type CsvValue } from '../../src/formats/csv';

describe('results.jsonl rows', () => {
  it('are the JSON of each row object, with and without the echoed id and text', () => {
    const labels = ['NEG', 'POS "q"'];
    const rows: BatchRowResult[] = [
      { index: 0, id: 'r"0', text: 'a\n"b"\u2028', error: null, prediction: { text: 'a', label: 'POS "q"', score: 0.75, scores: [{ label: 'POS "q"', score: 0.75 }, { label: 'NEG', score: 1e-7 }], model: 'm', modelVersion: 'v', cached: true } },
      { index: 1, id: null, text: '', error: 'The text is empty', prediction: null },
      { index: 3, id: '=id', text: '-x,"y"', error: '@err\nline', prediction: null },
      { index: 2, id: 'x', text: 'y', error: null, prediction: { text: 'y', label: 'NEG', score: 0.5, scores: [{ label: 'NEG', score: 0.5 }], model: 'm', modelVersion: 'v', cached: false } },
    ];
    for (const echo of [true, false]) {
      const expected = rows.map((row) => {
        const score = (label: string) => row.prediction?.scores.find((s) => s.label === label)?.score ?? null;
        const object: Record<string, unknown> = { index: row.index };
        if (echo) Object.assign(object, { id: row.id, text: row.text });
        Object.assign(object, { label: row.prediction?.label ?? null, score: row.prediction?.score ?? null });
        for (const label of labels) object[`score_${label}`] = score(label);
        Object.assign(object, { cached: row.prediction ? row.prediction.cached : null, error: row.error });
        return `${JSON.stringify(object)}\n`;
      });
      expect(new ResultFormatter('jsonl', labels, echo).rows(rows)).toBe(expected.join(''));
      // CSV: csvText of the same values (the writer it is built cell by cell to match).
      const values = expected.map((line) => Object.values(JSON.parse(line) as Record<string, CsvValue>));
      expect(new ResultFormatter('csv', labels, echo).rows(rows)).toBe(csvText(values));
    }
    expect(new ResultFormatter('csv', labels, false).header()).toBe('index,label,score,score_NEG,"score_POS ""q""",cached,error\r\n');
  });
});
