/**
 * What `work` settles to, or what `onLate()` gives (or throws) once `ms` have passed without it,
 * whichever comes first; the timer is cleared either way, so a settled race holds no process open.
 * `work` itself goes on: a caller that must undo what it does when late waits for it separately.
 */
export function timeLimit<T, L>(work: Promise<T>, ms: number, onLate: () => L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<L>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onLate());
      } catch (error) {
        reject(error as Error);
      }
    }, ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
