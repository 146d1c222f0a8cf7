import type { BatchRowResult } from '../../src/batches/batch-types';
import { ResultFormatter } from '../../src/batches/result-export';
import { decodeChunkResults, encodeChunk, encodeChunkOutcomes, encodeOutcome, joinChunkResults, parseChunkResults } from '../../src/batches/row-codec';
import { csvText, type CsvValue } from '../../src/formats/csv';

describe('results.jsonl rows', () => {
  it('are the JSON of each row object (as GraphQL reads the same stored rows), with and without the echoed id and text', () => {
    const labels = ['NEG', 'POS "q"'];
    const model = { name: 'm', version: 'v', labels };
    // Two stored chunks, as the record-chunk script stores them: a cached row, failed rows, a tie
    // (the first label of equals wins); and one stored by an earlier release.
    const stored = [
      joinChunkResults(
        encodeChunk([{ index: 0, id: 'r"0', text: 'a\n"b"\u2028' }, { index: 1, id: null, text: '' }]),
        encodeChunkOutcomes([encodeOutcome({ scoresJson: '[1e-7,0.75]', cached: true, error: null }), encodeOutcome({ scoresJson: null, cached: false, error: 'The text is empty' })]),
      ),
      joinChunkResults(
        encodeChunk([{ index: 2, id: 'x\\', text: 'y,"output":[1]' }, { index: 3, id: '=id', text: '-x,"y"' }]),
        encodeChunkOutcomes([encodeOutcome({ scoresJson: '[0.5,0.5]', cached: false, error: null }), encodeOutcome({ scoresJson: null, cached: false, error: '@err\nline' })]),
      ),
      '{"first":4,"rows":[["old","an earlier row",[0.9,0.1],0,null]]}',
    ];
    const rows: BatchRowResult[] = stored.flatMap((json) => decodeChunkResults(json, model));
    for (const echo of [true, false]) {
      // As a download reads them: without echo, the outcomes alone.
      const chunks = stored.map((json) => parseChunkResults(json, echo));
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
