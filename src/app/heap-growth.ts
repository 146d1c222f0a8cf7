import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what the last full collection left alive, in %.
 * V8's own choice, up to 4x on a small heap, let an API process reading a 1,000,000-row upload
 * (110 MB) carry garbage from 28 MB of live objects to 116 MB before collecting, and its RSS to
 * 263 MB (and 299-312 MB in `npm run bench`'s memory run, where the bound is 300 MB). At 50% the
 * same upload peaked at 214 MB: a full collection (a few ms, mostly incremental) every ~15 MB of
 * promoted objects instead of every ~90.
 */
export const API_HEAP_GROWING_PERCENT = 50;

/**
 * Applies API_HEAP_GROWING_PERCENT to this process. V8 reads the flag each time it sets the next
 * collection's threshold, so it takes effect after start (unlike --max-old-space-size, which an
 * API that runs inside `sift up` could not be given).
 */
export function boundApiHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${API_HEAP_GROWING_PERCENT}`);
}
