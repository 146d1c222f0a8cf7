import { timeLimit } from '../../src/time-limit';

describe('timeLimit', () => {
  const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

  it('gives what the work settles to when it is in time, and the late value when it is not', async () => {
    await expect(timeLimit(after(5, 'done'), 1000, () => 'late')).resolves.toBe('done');
    await expect(timeLimit(after(1000, 'done'), 10, () => 'late')).resolves.toBe('late');
    await expect(timeLimit(Promise.reject(new Error('broke')), 1000, () => 'late')).rejects.toThrow('broke');
  });

  it('rejects with what onLate throws', async () => {
    await expect(
      timeLimit(after(1000, 'done'), 10, () => {
        throw new Error('too slow');
      }),
    ).rejects.toThrow('too slow');
  });

  it('clears its timer once the work settles: onLate is never called', async () => {
    const onLate = jest.fn(() => 'late');
    await timeLimit(Promise.resolve('done'), 20, onLate);
    await after(60, null);
    expect(onLate).not.toHaveBeenCalled();
  });
});
