import type { Readable } from 'node:stream';

/**
 * Everything an object-mode stream has buffered, as one array per wake-up, instead of one
 * `for await` step per object: a million-row upload would otherwise pay a promise round per row
 * in every layer it passes through. Stopping early (break, throw) destroys the stream.
 */
export async function* readAvailable<T>(stream: Readable): AsyncGenerator<T[]> {
  let ended = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const signal = () => wake?.();
  stream.on('readable', signal);
  stream.once('end', () => {
    ended = true;
    signal();
  });
  stream.once('error', (error: Error) => {
    failure = error;
    signal();
  });
  try {
    for (;;) {
      const items: T[] = [];
      for (let item = stream.read() as T | null; item !== null; item = stream.read() as T | null) items.push(item);
      if (items.length > 0) yield items;
      if (failure) throw failure;
      if (ended) return;
      if (items.length === 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    }
  } finally {
    stream.off('readable', signal);
    if (!ended) stream.destroy();
  }
}
