import { encodeScores } from '../../src/cache/prediction-cache';
import { decodeChunk, decodeChunkResults, encodeChunk, encodeChunkResults, encodeResult } from '../../src/batches/row-codec';

const model = { name: 'sentiment', version: 'abc', labels: ['negative', 'positive'] };

describe('row codec (how batch rows are stored in Redis)', () => {
  const texts = ['plain', 'with "quotes", commas\nand a newline', 'emoji ☺ 𝄞', 'lone \uD800 surrogate', ''];

  it('gives back every result as the client type, with the prediction rebuilt from the batch model', () => {
    const scores = Float32Array.from([0.25, 0.75]);
    const encoded = texts.map((text, i) => encodeResult({ id: i % 2 ? `r${i}` : null, text, scoresJson: encodeScores(scores), cached: i % 2 === 1, error: null }));
    const decoded = decodeChunkResults(encodeChunkResults(40, encoded), model);
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

  it('keeps a failed row without a prediction', () => {
    const encoded = encodeResult({ id: 'x', text: '', scoresJson: null, cached: false, error: 'The text is empty.' });
    expect(decodeChunkResults(encodeChunkResults(3, [encoded]), model)).toEqual([{ index: 3, id: 'x', text: '', prediction: null, error: 'The text is empty.' }]);
  });

  it('stores a chunk with its first index only, and gives back consecutive indices', () => {
    const rows = texts.map((text, i) => ({ index: 500 + i, id: i === 2 ? null : `id ${i}`, text: i === 4 ? null : text }));
    expect(decodeChunk(encodeChunk(rows))).toEqual(rows);
  });
});
