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
 * (the same event object to every subscriber, so the rows are read, decoded and executed once per
 * process); `next()` takes them in order, and graphql-ws takes the next one only once the last
 * was written to the socket, so the queue is how far this subscriber is behind. Rows below
 * `fromRow` are never passed on. The relay sends rows only as fast as its row subscribers take
 * them (see `room`), so a queue stays short; one that holds more rows than `maxPending` allows,
 * or rows whose ids and texts hold more characters than it allows,
 * anyway (a client far slower than the others, or stuck) is ended with an error that says where
 * to resume, so no client can hold an unbounded backlog.
 */
export class ProgressWatcher implements AsyncIterableIterator<WatchItem> {
  private readonly queue: WatchItem[] = [];
  private waitingRows = 0;
  /** UTF-16 units of the ids and texts of the rows waiting: what they hold in memory, near enough. */
  private waitingCharacters = 0;
  /** Characters of the largest event of rows queued so far. */
  private largestEvent = 0;
  private wake: (() => void) | undefined;
  /** Who waits for this queue to shrink below a length: the relay's pacing, and replays. */
  private roomWaiters: { below: number; resolve: () => void }[] = [];
  private finished = false;
  /** The index of the next row this subscriber would receive (rows are sent in input order). */
  private nextRow: number;

  constructor(
    readonly withRows: boolean,
    fromRow: number,
    /**
     * Rows, and characters of their ids and texts, that may wait before the subscriber is ended as
     * too slow; the characters never fewer than `events` times those of the largest event seen
     * (pacing lets that many wait, whatever their size).
     */
    private readonly maxPending: { rows: number; characters: number; events: number },
    private readonly tooSlow: (resumeFrom: number) => SiftError,
    private readonly onLeave: (watcher: ProgressWatcher) => void,
  ) {
    this.nextRow = fromRow;
  }

  /** The snapshot of the last event queued, to leave out one with no rows that says the same. */
  private lastBatch: BatchSnapshot | undefined;

  get ended(): boolean {
    return this.finished;
  }

  /** The row this subscriber needs next: where a resumed subscription would start. */
  get position(): number {
    return this.nextRow;
  }

  /** Events waiting to be taken. */
  get queued(): number {
    return this.queue.length;
  }

  /** Rows waiting to be taken. */
  get pendingRows(): number {
    return this.waitingRows;
  }

  /** Characters of the ids and texts of the rows waiting to be taken. */
  get pendingCharacters(): number {
    return this.waitingCharacters;
  }

  /**
   * Queues an event; rows below the subscriber's position are dropped (it had them already). A
   * snapshot with no rows takes the place of a waiting one with no rows (not the first event):
   * the subscriber misses nothing but a count already out of date.
   */
  push(event: ProgressEvent): void {
    if (this.finished) return;
    // A snapshot with no rows that says nothing the last event did not (the same status and
    // counts): left out. A row subscriber on a queued batch got its first snapshot twice, from
    // the relay's `add` and then from its first pump (found by a review).
    if (event.rows.length === 0 && this.lastBatch !== undefined && !snapshotChanged(this.lastBatch, event.batch)) return;
    this.lastBatch = event.batch;
    // The event itself whenever nothing is left out of it: subscribers of one document then share its execution and JSON.
    const rows = this.withRows ? this.unseen(event.rows) : event.rows.length === 0 ? event.rows : [];
    const item = rows === event.rows ? event : { batch: event.batch, rows };
    if (rows.length > 0) this.nextRow = rows[rows.length - 1].index + 1;
    const last = this.queue[this.queue.length - 1];
    if (this.queue.length > 1 && rows.length === 0 && last !== undefined && 'rows' in last && last.rows.length === 0) {
      this.queue[this.queue.length - 1] = item;
    } else {
      this.queue.push(item);
    }
    this.waitingRows += rows.length;
    const characters = charactersOf(rows);
    this.waitingCharacters += characters;
    this.largestEvent = Math.max(this.largestEvent, characters);
    const maxCharacters = Math.max(this.maxPending.characters, this.maxPending.events * this.largestEvent);
    if (this.waitingRows > this.maxPending.rows || this.waitingCharacters > maxCharacters) {
      // Resume from the first row still waiting: everything before it was sent.
      const waiting = this.queue.flatMap((queued) => ('rows' in queued ? queued.rows : []));
      const resumeFrom = waiting[0]?.index ?? this.nextRow;
      this.queue.length = 0;
      this.waitingRows = 0;
      this.waitingCharacters = 0;
      this.fail(this.tooSlow(resumeFrom));
      return;
    }
    this.wake?.();
  }

  /** Ends the subscription after the events already queued. An ended watcher holds no one: its room waiters go on. */
  end(): void {
    this.finished = true;
    this.wake?.();
    this.releaseRoom();
  }

  /** Ends the subscription with an error, after the events already queued. */
  fail(error: SiftError): void {
    if (this.finished) return;
    this.queue.push({ error });
    this.end();
  }

  /** Resolves once fewer than `below` events wait in the queue (or the subscriber ended or left). */
  room(below: number): Promise<void> {
    if (this.queue.length < below || this.finished) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push({ below, resolve }));
  }

  /** Resolves once this subscriber has taken every queued event (or left): replays pace themselves by it. */
  drained(): Promise<void> {
    return this.room(1);
  }

  async next(): Promise<IteratorResult<WatchItem>> {
    while (this.queue.length === 0) {
      if (this.finished) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    const item = this.queue.shift()!;
    if ('rows' in item) {
      this.waitingRows -= item.rows.length;
      this.waitingCharacters -= charactersOf(item.rows);
    }
    if (this.roomWaiters.length > 0) this.releaseRoom();
    return { done: false, value: item };
  }

  /** The client left (its socket closed, or it unsubscribed): stop at once. */
  async return(): Promise<IteratorResult<WatchItem>> {
    this.queue.length = 0;
    this.waitingRows = 0;
    this.waitingCharacters = 0;
    this.finished = true;
    this.wake?.();
    this.releaseRoom();
    this.onLeave(this);
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WatchItem> {
    return this;
  }

  private releaseRoom(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = this.finished ? [] : waiters.filter((waiter) => this.queue.length >= waiter.below);
    for (const waiter of waiters) if (this.finished || this.queue.length < waiter.below) waiter.resolve();
  }

  private unseen(rows: BatchRowResult[]): BatchRowResult[] {
    if (rows.length === 0 || rows[0].index >= this.nextRow) return rows;
    return rows.filter((row) => row.index >= this.nextRow);
  }
}

/**
 * UTF-16 units of the rows' ids and texts, counted once per array: every subscriber of a batch
 * queues the same event's rows, and takes them again.
 */
function charactersOf(rows: readonly BatchRowResult[]): number {
  let characters = counted.get(rows);
  if (characters === undefined) {
    characters = 0;
    for (const row of rows) characters += row.text.length + (row.id?.length ?? 0);
    counted.set(rows, characters);
  }
  return characters;
}

const counted = new WeakMap<readonly BatchRowResult[], number>();

/** Whether a subscriber would see a difference: another status, or rows processed or in all (rows/s and ETA alone do not count). */
export function snapshotChanged(before: BatchSnapshot | undefined, after: BatchSnapshot): boolean {
  if (!before) return true;
  return before.status !== after.status || before.processed !== after.processed || before.total !== after.total;
}
