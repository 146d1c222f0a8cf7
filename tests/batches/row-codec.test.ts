import { encodeScores } from '../../src/cache/prediction-cache';
import { chunkOutcomesOf, decodeChunkResults, decodeChunkTexts, encodeChunk, encodeChunkOutcomes, encodeChunkOutput, parseChunkResults, type StoredChunkResults } from '../../src/batches/row-codec';

/** A chunk's results as recorded now (its outcomes in the results hash, its input kept apart), read back with its input. */
function recorded(input: string, outcomes: string): StoredChunkResults {
  const first = (JSON.parse(input) as { first: number }).first;
  return parseChunkResults(encodeChunkOutput(first, outcomes), input);
}

const model = { name: 'sentiment', version: 'abc', labels: ['negative', 'positive'] };

describe('row codec (how batch rows are stored in Redis)', () => {
  const texts = ['plain', 'with "quotes", commas\nand a newline', 'emoji ☺ 𝄞', 'lone \uD800 surrogate', ''];

  it('gives back every result as the client type: id and text from the stored input, the prediction rebuilt from the batch model', () => {
    const scores = Float32Array.from([0.25, 0.75]);
    const input = encodeChunk(texts.map((text, i) => ({ index: 40 + i, id: i % 2 ? `r${i}` : null, text })));
    const outcomes = encodeChunkOutcomes(texts.map((_, i) => ({ scoresJson: encodeScores(scores), cached: i % 2 === 1, error: null })));
    const decoded = decodeChunkResults(recorded(input, outcomes), model);
    expect(decoded).toHaveLength(texts.length);
    texts.forEach((text, i) => {
      expect(decoded[i]).toEqual({
        index: 40 + i,
        id: i % 2 ? `r${i}` : null,
        text,
        prediction: {
          text,
          label: 'positive',
          score: 0.75,
          scores: [{ label: 'positive', score: 0.75 }, { label: 'negative', score: 0.25 }],
          model: 'sentiment',
          modelVersion: 'abc',
          cached: i % 2 === 1,
        },
        error: null,
      });
    });
  });

  it('keeps a failed row without a prediction; a row without a text field reads as the empty text', () => {
    const input = encodeChunk([{ index: 3, id: 'x', text: '' }, { index: 4, id: 'y', text: null }]);
    const outcomes = encodeChunkOutcomes([{ scoresJson: null, cached: false, error: 'The text is empty.' }, { scoresJson: null, cached: false, error: 'The text field is missing from this row, or is not a string.' }]);
    expect(decodeChunkResults(recorded(input, outcomes), model)).toEqual([
      { index: 3, id: 'x', text: '', prediction: null, error: 'The text is empty.' },
      { index: 4, id: 'y', text: '', prediction: null, error: 'The text field is missing from this row, or is not a string.' },
    ]);
  });

  it('gives the outcomes of a chunk as they were recorded, whichever release recorded them', () => {
    const outcomes = encodeChunkOutcomes([{ scoresJson: '[0.1,0.9]', cached: true, error: null }, { scoresJson: null, cached: false, error: 'bad "row"},"output": é ☺ 𝄞' }]);
    const input = encodeChunk([{ index: 7, id: '},"output":[]', text: 'x\\' }, { index: 8, id: null, text: '{"input":' }]);
    expect(chunkOutcomesOf(Buffer.from(encodeChunkOutput(7, outcomes)))).toEqual({ first: 7, outcomes });
    // The release before: the input and outcomes joined in one value.
    expect(chunkOutcomesOf(Buffer.from(`{"input":${input},"output":${outcomes}}`))).toEqual({ first: 7, outcomes });
    // The release before that: each row its id, text and outcome.
    expect(chunkOutcomesOf(Buffer.from('{"first":7,"rows":[["r7","good",[0.1,0.9],1,null],[null,"",null,0,"bad \\"row\\"},\\"output\\": é ☺ 𝄞"]]}'))).toEqual({ first: 7, outcomes });
    expect(() => chunkOutcomesOf(Buffer.from('{"input":{"first":3,"rows":[]}}'))).toThrow(/stored results of a chunk are malformed/);
  });

  it('reads a chunk recorded now with its input (by index alone, should the input be gone); one an earlier release stored holds its own', () => {
    const input = encodeChunk([{ index: 7, id: 'r7', text: 'good' }]);
    const outcomes = encodeChunkOutcomes([{ scoresJson: '[0.1,0.9]', cached: true, error: null }]);
    expect(parseChunkResults(encodeChunkOutput(7, outcomes), null)).toEqual({ first: 7, rows: [[null, '', [0.1, 0.9], 1, null]] });
    const expected = { first: 7, rows: [['r7', 'good', [0.1, 0.9], 1, null]] };
    expect(parseChunkResults(encodeChunkOutput(7, outcomes), input)).toEqual(expected);
    expect(parseChunkResults(`{"input":${input},"output":${outcomes}}`, null)).toEqual(expected);
  });

  it('reads results stored by earlier releases (each row its id, text and outcome)', () => {
    const earlier = '{"first":7,"rows":[["r7","good",[0.1,0.9],1,null],[null,"",null,0,"The text is empty."]]}';
    expect(decodeChunkResults(parseChunkResults(earlier, null), model)).toEqual([
      { index: 7, id: 'r7', text: 'good', prediction: { text: 'good', label: 'positive', score: 0.9, scores: [{ label: 'positive', score: 0.9 }, { label: 'negative', score: 0.1 }], model: 'sentiment', modelVersion: 'abc', cached: true }, error: null },
      { index: 8, id: null, text: '', prediction: null, error: 'The text is empty.' },
    ]);
  });

  it('stores a chunk with its first index only, and gives a worker its texts in order', () => {
    const rows = texts.map((text, i) => ({ index: 500 + i, id: i === 2 ? null : `id ${i}`, text: i === 4 ? null : text }));
    expect(decodeChunkTexts(encodeChunk(rows))).toEqual({ first: 500, texts: rows.map((row) => row.text) });
  });
});
