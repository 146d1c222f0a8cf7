import { MicroBatcher } from '../../src/models/micro-batcher';
import type { ScoreMatrix } from '../../src/models/model-runner';

/** A scorer that gives text i the score [len, 1]; it records each batch it was handed. */
function recordingScorer(delayMs = 5) {
  const batches: string[][] = [];
  const scorer = async (_model: string, texts: string[]): Promise<ScoreMatrix> => {
    batches.push(texts);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return { rows: texts.length, labels: 2, values: Float32Array.from(texts.flatMap((t) => [t.length, 1])) };
  };
  return { batches, scorer };
}

describe('MicroBatcher', () => {
  it('runs texts that arrive together as one batch and gives each its own row', async () => {
    const { batches, scorer } = recordingScorer();
    const batcher = new MicroBatcher(scorer, { maxBatchSize: 64, windowMs: 5, maxInFlight: 2 });
    const texts = ['a', 'bb', 'ccc', 'dddd'];
    const results = await Promise.all(texts.map((t) => batcher.score('m', t)));
    expect(batches).toEqual([texts]);
    expect(results.map((r) => Array.from(r))).toEqual([[1, 1], [2, 1], [3, 1], [4, 1]]);
    expect(batcher.stats()).toEqual({ runs: 1, rows: 4, meanBatchSize: 4 });
  });

  it('never exceeds the maximum batch size', async () => {
    const { batches, scorer } = recordingScorer();
    const batcher = new MicroBatcher(scorer, { maxBatchSize: 3, windowMs: 5, maxInFlight: 1 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.score('m', `t${i}`)));
    expect(batches.map((b) => b.length)).toEqual([3, 3, 3, 1]);
    expect(batches.flat()).toEqual(Array.from({ length: 10 }, (_, i) => `t${i}`));
  });

  it('keeps models apart', async () => {
    const { batches, scorer } = recordingScorer();
    const batcher = new MicroBatcher(scorer, { maxBatchSize: 64, windowMs: 5, maxInFlight: 2 });
    await Promise.all([batcher.score('a', 'x'), batcher.score('b', 'y'), batcher.score('a', 'z')]);
    expect(batches).toEqual(expect.arrayContaining([['x', 'z'], ['y']]));
    expect(batches).toHaveLength(2);
  });

  it('gathers texts into larger batches while every run slot is busy', async () => {
    const { batches, scorer } = recordingScorer(30);
    const batcher = new MicroBatcher(scorer, { maxBatchSize: 256, windowMs: 0, maxInFlight: 1 });
    const first = batcher.score('m', 'first');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const rest = Array.from({ length: 20 }, (_, i) => batcher.score('m', `later ${i}`));
    await Promise.all([first, ...rest]);
    expect(batches.map((b) => b.length)).toEqual([1, 20]);
  });

  it('with no window, runs the texts of one event-loop turn together, at the end of that turn', async () => {
    const { batches, scorer } = recordingScorer();
    const batcher = new MicroBatcher(scorer, { maxBatchSize: 64, windowMs: 0, maxInFlight: 2 });
    const together = ['a', 'b', 'c'].map((t) => batcher.score('m', t));
    expect(batches).toEqual([]);
    // One setImmediate later, and no timer: the run has started.
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([['a', 'b', 'c']]);
    // A thread is still free, so a text of a later turn does not wait for the first run.
    const later = batcher.score('m', 'd');
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([['a', 'b', 'c'], ['d']]);
    await Promise.all([...together, later]);
  });

  it('rejects every text of a failed run and keeps serving', async () => {
    let fail = true;
    const batcher = new MicroBatcher(
      async (_m, texts) => {
        if (fail) throw new Error('model crashed');
        return { rows: texts.length, labels: 1, values: new Float32Array(texts.length).fill(1) };
      },
      { maxBatchSize: 8, windowMs: 1, maxInFlight: 1 },
    );
    await expect(Promise.all([batcher.score('m', 'a'), batcher.score('m', 'b')])).rejects.toThrow('model crashed');
    fail = false;
    await expect(batcher.score('m', 'c')).resolves.toEqual(Float32Array.from([1]));
  });
});
