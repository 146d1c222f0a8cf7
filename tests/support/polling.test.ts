import { eventually } from './polling';

describe('eventually', () => {
  it('fails with the name of what it waited for when a check never answers, at its deadline', async () => {
    const started = Date.now();
    await expect(eventually(() => new Promise<boolean>(() => undefined), 300, 'a request to a stuck server')).rejects.toThrow(
      'timed out waiting for a request to a stuck server: the last check had not answered by the deadline',
    );
    // The deadline, plus the grace of one second a slow last check is given.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('counts a check that throws as not yet, and returns once one holds', async () => {
    let calls = 0;
    await eventually(async () => {
      calls++;
      if (calls === 1) throw new Error('not up yet');
      return calls >= 3;
    }, 5000);
    expect(calls).toBe(3);
  });
});
