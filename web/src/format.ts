import { html } from 'lit';

/** Numbers, times and durations as the page shows them, in the browser's own locale. */

export const count = (n: number): string => n.toLocaleString();

/** A span of time: "40 ms", "4.2 s", "12 s", "3 min 05 s", "2 h 10 min". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const seconds = ms / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Time to go, from the server's estimate in seconds ("–" when it has none yet). */
export function eta(seconds: number | null | undefined): string {
  return seconds === null || seconds === undefined ? '–' : duration(seconds * 1000);
}

/** A moment: the time alone when it is today, with the date otherwise. */
export function moment(iso: string): string {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return date.toLocaleString(undefined, today ? { hour: '2-digit', minute: '2-digit', second: '2-digit' } : { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/** A moment as a <time> element, with the full date and time on hover. */
export function timeElement(iso: string) {
  return html`<time datetime=${iso} title=${new Date(iso).toLocaleString()}>${moment(iso)}</time>`;
}

/**
 * How long a batch took, as its user waited: from its submission to its end, or to `now` while it
 * runs. (The server's `startedAt` is when the first chunk's rows were recorded, not when a worker
 * took it, so a batch of one chunk would seem to take no time at all.)
 */
export function elapsed(batch: { createdAt: string; finishedAt: string | null }, now = Date.now()): number {
  return Math.max(0, (batch.finishedAt ? Date.parse(batch.finishedAt) : now) - Date.parse(batch.createdAt));
}
