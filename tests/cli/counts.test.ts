import { count } from '../../src/cli/counts';

describe('count', () => {
  it('writes whole numbers as toLocaleString(\'en-US\') does', () => {
    const numbers = [0, 7, 42, 999, 1000, 1001, 12_345, 100_000, 200_000, 999_999, 1_000_000, 1_234_567_890, Number.MAX_SAFE_INTEGER, -1, -1234, -1_000_000];
    for (const n of numbers) expect(count(n)).toBe(n.toLocaleString('en-US'));
  });

  it('leaves anything else to toLocaleString', () => {
    for (const n of [1.5, -0.25, 2 ** 60, NaN, Infinity]) expect(count(n)).toBe(n.toLocaleString('en-US'));
  });
});
