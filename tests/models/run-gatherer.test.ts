import { RunGatherer } from '../../src/models/run-gatherer';
import type { ScoreMatrix } from '../../src/models/model-runner';

/** A scorer that gives text i the score [len, 1]; it records each run it was handed. */
function recordingScorer(delayMs = 5) {
  const runs: string[][] = [];
  const scorer = async (_model: string, texts: string[]): Promise<ScoreMatrix> => {
    runs.push(texts);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return { rows: texts.length, labels: 2, values: Float32Array.from(texts.flatMap((t) => [t.length, 1])) };
  };
  return { runs, scorer };
}

describe('RunGatherer', () => {
  it('runs texts that arrive together as one run and gives each its own row', async () => {
    const { runs, scorer } = recordingScorer();
    const gatherer = new RunGatherer(scorer, { maxRunSize: 64, windowMs: 5, maxInFlight: 2 });
    const texts = ['a', 'bb', 'ccc', 'dddd'];
    const results = await Promise.all(texts.map((t) => gatherer.score('m', t)));
    expect(runs).toEqual([texts]);
    expect(results.map((r) => Array.from(r))).toEqual([[1, 1], [2, 1], [3, 1], [4, 1]]);
    expect(gatherer.stats()).toEqual({ runs: 1, rows: 4, meanRunSize: 4 });
  });

  it('never exceeds the maximum run size', async () => {
    const { runs, scorer } = recordingScorer();
    const gatherer = new RunGatherer(scorer, { maxRunSize: 3, windowMs: 5, maxInFlight: 1 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => gatherer.score('m', `t${i}`)));
    expect(runs.map((b) => b.length)).toEqual([3, 3, 3, 1]);
    expect(runs.flat()).toEqual(Array.from({ length: 10 }, (_, i) => `t${i}`));
  });

  it('keeps models apart', async () => {
    const { runs, scorer } = recordingScorer();
    const gatherer = new RunGatherer(scorer, { maxRunSize: 64, windowMs: 5, maxInFlight: 2 });
    await Promise.all([gatherer.score('a', 'x'), gatherer.score('b', 'y'), gatherer.score('a', 'z')]);
    expect(runs).toEqual(expect.arrayContaining([['x', 'z'], ['y']]));
    expect(runs).toHaveLength(2);
  });

  it('gathers texts into larger runs while every run slot is busy', async () => {
    const { runs, scorer } = recordingScorer(30);
    const gatherer = new RunGatherer(scorer, { maxRunSize: 256, windowMs: 0, maxInFlight: 1 });
    const first = gatherer.score('m', 'first');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const rest = Array.from({ length: 20 }, (_, i) => gatherer.score('m', `later ${i}`));
    await Promise.all([first, ...rest]);
    expect(runs.map((b) => b.length)).toEqual([1, 20]);
  });

  it('with no window, runs the texts of one event-loop turn together, at the end of that turn', async () => {
    const { runs, scorer } = recordingScorer();
    const gatherer = new RunGatherer(scorer, { maxRunSize: 64, windowMs: 0, maxInFlight: 2 });
    const together = ['a', 'b', 'c'].map((t) => gatherer.score('m', t));
    expect(runs).toEqual([]);
    // One setImmediate later, and no timer: the run has started.
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual([['a', 'b', 'c']]);
    // A thread is still free, so a text of a later turn does not wait for the first run.
    const later = gatherer.score('m', 'd');
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual([['a', 'b', 'c'], ['d']]);
    await Promise.all([...together, later]);
  });

  it('rejects every text of a failed run and keeps serving', async () => {
    let fail = true;
    const gatherer = new RunGatherer(
      async (_m, texts) => {
        if (fail) throw new Error('model crashed');
        return { rows: texts.length, labels: 1, values: new Float32Array(texts.length).fill(1) };
      },
      { maxRunSize: 8, windowMs: 1, maxInFlight: 1 },
    );
    await expect(Promise.all([gatherer.score('m', 'a'), gatherer.score('m', 'b')])).rejects.toThrow('model crashed');
    fail = false;
    await expect(gatherer.score('m', 'c')).resolves.toEqual(Float32Array.from([1]));
  });

  it('fails the texts of a scorer that throws rather than rejects, and keeps serving', async () => {
    let calls = 0;
    const gatherer = new RunGatherer(
      (_m, texts) => {
        if (calls++ === 0) throw new Error('thrown, not rejected');
        return Promise.resolve({ rows: texts.length, labels: 1, values: new Float32Array(texts.length).fill(1) });
      },
      { maxRunSize: 2, windowMs: 0, maxInFlight: 1 },
    );
    const settled = await Promise.allSettled(['a', 'b', 'c'].map((text) => gatherer.score('m', text)));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    await expect(gatherer.score('m', 'd')).resolves.toEqual(Float32Array.from([1]));
  });

  describe('between owners', () => {
    /**
     * A gatherer of one slot over a recording scorer, returned once a run of one text of owner `a`
     * is in flight (the slot busy), with that text's promise in an object (an async function
     * returning it bare would wait for it).
     */
    async function busy(maxRunSize: number, delayMs: number): Promise<{ gatherer: RunGatherer; runs: string[][]; first: Promise<Float32Array> }> {
      const { runs, scorer } = recordingScorer(delayMs);
      const gatherer = new RunGatherer(scorer, { maxRunSize, windowMs: 0, maxInFlight: 1 });
      const first = gatherer.score('m', 'a first', 'a');
      while (runs.length === 0) await new Promise((resolve) => setImmediate(resolve));
      return { gatherer, runs, first };
    }

    it("gives another owner's one text the next run, however many texts the first owner has waiting", async () => {
      const { gatherer, runs, first } = await busy(8, 20);
      const flood = Array.from({ length: 40 }, (_, i) => gatherer.score('m', `a ${i}`, 'a'));
      const lone = gatherer.score('m', 'b alone', 'b');
      await Promise.all([first, ...flood, lone]);
      // First come, first served, it would have waited for the five runs of a's forty texts.
      expect(runs[1]).toContain('b alone');
      expect(runs.slice(1).map((run) => run.length)).toEqual([8, 8, 8, 8, 8, 1]);
      // Each owner's texts keep their order.
      expect(runs.flat().filter((text) => text.startsWith('a ') && text !== 'a first')).toEqual(Array.from({ length: 40 }, (_, i) => `a ${i}`));
    });

    it('shares a run equally between the owners waiting; a share one cannot fill goes to the others', async () => {
      const { gatherer, runs, first } = await busy(8, 20);
      const texts = [...['a', 'b'].flatMap((owner) => Array.from({ length: 20 }, (_, i) => [owner, `${owner} ${i}`])), ['c', 'c 0'], ['c', 'c 1']];
      const scored = texts.map(([owner, text]) => gatherer.score('m', text, owner));
      const results = await Promise.all([first, ...scored]);
      const owners = (run: string[]) => run.map((text) => text[0]).sort().join('');
      // 8 places for 3 owners: 2 each, then the 2 that c (2 texts) leaves go to a and b.
      expect(owners(runs[1])).toBe('aaabbbcc');
      expect(owners(runs[2])).toBe('aaaabbbb');
      // Every text still gets the scores of its own row (the scorer gives [length, 1]).
      expect(results.slice(1).map((r) => r[0])).toEqual(texts.map(([, text]) => text.length));
    });

    it("gives a text of another model the next run too, however many texts the first model has waiting", async () => {
      const { gatherer, runs, first } = await busy(8, 10);
      const flood = Array.from({ length: 40 }, (_, i) => gatherer.score('m', `a ${i}`, 'a'));
      const other = gatherer.score('other model', 'b alone', 'b');
      await Promise.all([first, ...flood, other]);
      expect(runs[1]).toEqual(['b alone']);
      // The first model's runs go on after it, in order.
      expect(runs.slice(2).flat()).toEqual(Array.from({ length: 40 }, (_, i) => `a ${i}`));
    });

    it('serves thousands of owners of one text each in the order they came, a run at a time', async () => {
      const { gatherer, runs, first } = await busy(4, 0);
      const owners = 2000;
      const scored = Array.from({ length: owners }, (_, i) => gatherer.score('m', `o${i}`, `o${i}`));
      await Promise.all([first, ...scored]);
      // One text an owner, in the order the owners came: every run is the next four.
      expect(runs.length).toBe(1 + owners / 4);
      expect(runs.slice(1).flat()).toEqual(Array.from({ length: owners }, (_, i) => `o${i}`));
    });

    it("keeps one owner's thousands of texts in order beside another's, a share of each run each", async () => {
      const { gatherer, runs, first } = await busy(8, 0);
      const many = Array.from({ length: 3000 }, (_, i) => gatherer.score('m', `a ${i}`, 'a'));
      const few = Array.from({ length: 40 }, (_, i) => gatherer.score('m', `b ${i}`, 'b'));
      const results = await Promise.all([...many, ...few, first]);
      expect(results.slice(0, 3000).map((r) => r[0])).toEqual(Array.from({ length: 3000 }, (_, i) => `a ${i}`.length));
      const later = runs.slice(1);
      expect(later.flat().filter((text) => text.startsWith('a '))).toEqual(Array.from({ length: 3000 }, (_, i) => `a ${i}`));
      // b's forty texts go four a run, beside four of a's, in the first ten runs.
      expect(later.slice(0, 10).every((run) => run.filter((text) => text.startsWith('b ')).length === 4)).toBe(true);
    });

    it('with more owners than places, the owners left out of one run lead the next', async () => {
      const { gatherer, runs, first } = await busy(2, 20);
      const scored = ['p', 'q', 'r', 's'].flatMap((owner) => [0, 1].map((i) => gatherer.score('m', `${owner} ${i}`, owner)));
      await Promise.all([first, ...scored]);
      expect(runs.slice(1)).toEqual([['p 0', 'q 0'], ['r 0', 's 0'], ['p 1', 'q 1'], ['r 1', 's 1']]);
    });
  });
});
