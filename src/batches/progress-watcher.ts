import type { SiftError } from '../errors';
import type { BatchRowResult, BatchSnapshot } from './batch-types';

/** One event of the `batchProgress` subscription: a snapshot and the rows finished since the last event. */
export interface ProgressEvent {
  batch: BatchSnapshot;
  rows: BatchRowResult[];
}

/** What a watcher yields: an event, or the error that ends its subscription (shown as a GraphQL error). */
export type WatchItem = ProgressEvent | { error: SiftError };

/**
 * One subscriber's queue of progress events, as an async iterator. Events are pushed by a relay
 * (the same event object to every subscriber, so the rows are read and decoded once per process);
 * `next()` takes them in order. Rows below `fromRow` are never passed on. A subscriber that falls
 * far behind (its socket drains slower than rows finish) has its waiting events merged into one,
 * and past `maxPendingRows` it is ended with an error that says where to resume, so one slow
 * client cannot hold an unbounded backlog.
 */
export class ProgressWatcher implements AsyncIterableIterator<WatchItem> {
  private readonly queue: WatchItem[] = [];
  private pendingRows = 0;
  private wake: (() => void) | undefined;
  private drainedWake: (() => void) | undefined;
  private finished = false;
  /** The waiting event this subscriber merged later ones into, if any. */
  private merged: ProgressEvent | undefined;
  /** The index of the next row this subscriber would receive (rows are sent in input order). */
  private nextRow: number;

  constructor(
    readonly withRows: boolean,
    fromRow: number,
    private readonly maxPendingRows: number,
    private readonly tooSlow: (resumeFrom: number) => SiftError,
    private readonly onLeave: (watcher: ProgressWatcher) => void,
  ) {
    this.nextRow = fromRow;
  }

  get ended(): boolean {
    return this.finished;
  }

  /** The row this subscriber needs next: where a resumed subscription would start. */
  get position(): number {
    return this.nextRow;
  }

  /** Queues an event; rows below the subscriber's position are dropped (it had them already). */
  push(event: ProgressEvent): void {
    if (this.finished) return;
    const rows = this.withRows ? this.unseen(event.rows) : [];
    const item = rows === event.rows ? event : { batch: event.batch, rows };
    if (rows.length > 0) this.nextRow = rows[rows.length - 1].index + 1;
    const last = this.queue[this.queue.length - 1];
    if (this.queue.length > 1 && last && 'batch' in last) {
      // Behind: merge into the last waiting event (an object of this subscriber's own, so its rows
      // can grow in place) instead of queueing one more.
      const merged = this.merged === last ? last : (this.merged = { batch: last.batch, rows: [...last.rows] });
      merged.batch = item.batch;
      for (const row of rows) merged.rows.push(row);
      this.queue[this.queue.length - 1] = merged;
    } else {
      this.queue.push(item);
    }
    this.pendingRows += rows.length;
    if (this.pendingRows > this.maxPendingRows) {
      // Resume from the first row still waiting: everything before it was sent.
      const waiting = this.queue.flatMap((queued) => ('rows' in queued ? queued.rows : []));
      const resumeFrom = waiting[0]?.index ?? this.nextRow;
      this.queue.length = 0;
      this.pendingRows = 0;
      this.fail(this.tooSlow(resumeFrom));
      return;
    }
    this.wake?.();
  }

  /** Ends the subscription after the events already queued. */
  end(): void {
    this.finished = true;
    this.wake?.();
  }

  /** Ends the subscription with an error, after the events already queued. */
  fail(error: SiftError): void {
    if (this.finished) return;
    this.queue.push({ error });
    this.end();
  }

  /** Resolves once this subscriber has taken every queued event (or left): replays pace themselves by it. */
  drained(): Promise<void> {
    if (this.queue.length === 0 || this.finished) return Promise.resolve();
    return new Promise((resolve) => (this.drainedWake = resolve));
  }

  async next(): Promise<IteratorResult<WatchItem>> {
    while (this.queue.length === 0) {
      if (this.finished) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    const item = this.queue.shift()!;
    if ('rows' in item) this.pendingRows -= item.rows.length;
    if (this.queue.length === 0) {
      this.drainedWake?.();
      this.drainedWake = undefined;
    }
    return { done: false, value: item };
  }

  /** The client left (its socket closed, or it unsubscribed): stop at once. */
  async return(): Promise<IteratorResult<WatchItem>> {
    this.queue.length = 0;
    this.finished = true;
    this.wake?.();
    this.drainedWake?.();
    this.onLeave(this);
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WatchItem> {
    return this;
  }

  private unseen(rows: BatchRowResult[]): BatchRowResult[] {
    if (rows.length === 0 || rows[0].index >= this.nextRow) return rows;
    return rows.filter((row) => row.index >= this.nextRow);
  }
}
