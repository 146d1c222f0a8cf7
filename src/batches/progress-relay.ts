import { ErrorCodes, unavailableError, type SiftError } from '../errors';
import type { Logger } from '../logger';
import { isRedisOutage, redisUnavailable } from '../redis/outage';
import { isFinalStatus } from './batch-status';
import type { BatchProgressState, BatchStore } from './batch-store';
import { unknownBatch, type BatchRowResult } from './batch-types';
import type { ProgressChannel } from './progress-channel';
import { ProgressWatcher, type WatchItem } from './progress-watcher';

/** What one subscriber asks of a batch's progress. */
export interface WatchOptions {
  /**
   * Replay the finished rows from this index first, in input order, then go live: a client that
   * lost its connection resumes from the row after the last it holds, with no gap and no
   * duplicate. Null: only rows that finish from now on.
   */
  fromRow: number | null;
  /** False for a subscriber that selects no rows: it costs no row reads. */
  withRows: boolean;
}

export interface ProgressRelayOptions {
  channel: ProgressChannel;
  store: BatchStore;
  logger: Logger;
  /** How often a watched batch is read again even when no message comes (a message can be lost). */
  pollMs?: number;
  /** How long a Redis outage may last before subscribers are ended with REDIS_UNAVAILABLE. */
  outageGraceMs?: number;
  /** Chunks whose rows go in one event. */
  chunksPerEvent?: number;
  /** Rows a subscriber may leave waiting before it is ended with SUBSCRIBER_TOO_SLOW. */
  maxPendingRows?: number;
}

const DEFAULTS = { pollMs: 1000, outageGraceMs: 30_000, chunksPerEvent: 8, maxPendingRows: 50_000 };

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Live progress of batches for every subscriber of one API process. Each watched batch has one
 * feed per process: one pub/sub subscription, one read of the record per change and one read of
 * each finished chunk's rows, whatever the number of subscribers; every subscriber gets the same
 * event objects.
 *
 * Rows go out in input order. The record says how many chunks from the first are all recorded
 * (`contiguousChunks`), and the feed sends rows up to there; a chunk that finishes early waits
 * for the ones before it. So a subscriber's rows are always a run from where it started, and a
 * client that reconnects resumes with `fromRow` = the index after its last row: no gap, no
 * duplicate. Once the batch ends nothing more is recorded (see record-chunk.ts), so the last event
 * carries every remaining row and the batch's final counts.
 *
 * Pub/sub messages only wake the feed; the record in Redis is the truth, and it is read again
 * every `pollMs`, so a lost message (a worker killed between recording and publishing, a Redis
 * restart) costs a moment, never rows.
 */
export class ProgressRelay {
  private readonly feeds = new Map<string, BatchFeed>();
  private readonly settings: typeof DEFAULTS;

  constructor(private readonly options: ProgressRelayOptions) {
    this.settings = { ...DEFAULTS, ...definedOnly(options) };
  }

  /** Feeds open now (batches with subscribers in this process), for tests and metrics. */
  get watchedBatches(): number {
    return this.feeds.size;
  }

  /**
   * The events of one batch for one subscriber: first the current snapshot, then (with `fromRow`)
   * the finished rows from there, then live events; the subscription ends after the event with a
   * final status (or with an error item). An unknown id is refused up front.
   */
  async watch(id: string, options: WatchOptions): Promise<AsyncIterableIterator<WatchItem>> {
    const feed = this.feeds.get(id) ?? (await this.openFeed(id));
    return feed.add(options);
  }

  /** Ends every subscription (the server is shutting down). */
  close(): void {
    for (const feed of [...this.feeds.values()]) feed.close(true);
  }

  private async openFeed(id: string): Promise<BatchFeed> {
    const feed = new BatchFeed(id, this.options, this.settings, () => this.feeds.get(id) === feed && this.feeds.delete(id));
    await feed.open();
    // Another subscriber may have opened one meanwhile: keep the first, close this one.
    const existing = this.feeds.get(id);
    if (existing) {
      feed.close();
      return existing;
    }
    if (!feed.closed) this.feeds.set(id, feed);
    return feed;
  }
}

/** The progress of one batch in one process, shared by its subscribers. */
class BatchFeed {
  /** Subscribers caught up with the feed: they get its events as they go out. */
  private readonly live = new Set<ProgressWatcher>();
  /** Subscribers still reading older rows from Redis before they join `live`. */
  private readonly replaying = new Set<ProgressWatcher>();
  private state!: BatchProgressState;
  /** The next chunk whose rows go out: every chunk before it has been sent (or, once final, skipped as never recorded). */
  private next = 0;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private advancing = false;
  private again = false;
  private failingSince: number | undefined;
  closed = false;

  constructor(
    private readonly id: string,
    private readonly options: ProgressRelayOptions,
    private readonly settings: typeof DEFAULTS,
    private readonly onClosed: () => void,
  ) {}

  /** Subscribes to the batch's messages, then reads where it stands (in that order, so no change is missed). */
  async open(): Promise<void> {
    this.unsubscribe = await this.options.channel.subscribe(this.id, () => this.wake());
    try {
      const state = await this.options.store.progress(this.id);
      if (!state) throw unknownBatch(this.id);
      this.state = state;
      this.next = isFinalStatus(state.snapshot.status) ? state.chunks : state.contiguousChunks;
    } catch (error) {
      this.close();
      throw error;
    }
    if (isFinalStatus(this.state.snapshot.status)) this.close();
    else this.schedulePoll();
  }

  /** A new subscriber: the current snapshot first, then its rows from `fromRow`, then live events. */
  add(options: WatchOptions): ProgressWatcher {
    const fromRow = options.fromRow ?? this.next * this.state.chunkSize;
    const watcher = new ProgressWatcher(options.withRows, fromRow, this.settings.maxPendingRows, (resumeFrom) => tooSlow(resumeFrom), (w) => this.leave(w));
    watcher.push({ batch: this.state.snapshot, rows: [] });
    const behind = options.withRows && Math.floor(fromRow / this.state.chunkSize) < this.next;
    if (this.closed && !behind) {
      watcher.end();
    } else if (behind) {
      this.replaying.add(watcher);
      void this.replay(watcher, Math.floor(fromRow / this.state.chunkSize));
    } else {
      this.live.add(watcher);
    }
    return watcher;
  }

  /** Stops watching the batch: live subscribers end; replaying ones finish their replay, unless `everyone`. */
  close(everyone = false): void {
    if (everyone) {
      for (const watcher of this.replaying) watcher.end();
      this.replaying.clear();
    }
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.unsubscribe?.();
    for (const watcher of this.live) watcher.end();
    this.live.clear();
    this.onClosed();
  }

  private leave(watcher: ProgressWatcher): void {
    this.live.delete(watcher);
    this.replaying.delete(watcher);
    if (this.live.size === 0 && this.replaying.size === 0) this.close();
  }

  private schedulePoll(): void {
    clearTimeout(this.timer);
    if (!this.closed) this.timer = setTimeout(() => this.wake(), this.settings.pollMs);
  }

  /** Reads the batch again (once at a time; a wake during a read runs one more after it). */
  private wake(): void {
    if (this.closed) return;
    if (this.advancing) {
      this.again = true;
      return;
    }
    this.advancing = true;
    void this.advance()
      .then(() => (this.failingSince = undefined))
      .catch((error: Error) => this.failed(error))
      .finally(() => {
        this.advancing = false;
        if (this.again && !this.closed) {
          this.again = false;
          this.wake();
        } else {
          this.schedulePoll();
        }
      });
  }

  private failed(error: Error): void {
    const { logger } = this.options;
    if (!isRedisOutage(error)) logger.warn(`progress of batch ${this.id}: ${error.message}`);
    this.failingSince ??= Date.now();
    if (Date.now() - this.failingSince < this.settings.outageGraceMs) return;
    for (const watcher of [...this.live, ...this.replaying]) watcher.fail(unreadable(this.id, error));
    this.replaying.clear();
    this.close();
  }

  /** Sends what changed since the last read: rows of newly recorded chunks in order, the snapshot, the end. */
  private async advance(): Promise<void> {
    const { store } = this.options;
    const state = await store.progress(this.id);
    if (!state) {
      // Gone (its retention ran out): nothing more will come.
      for (const watcher of [...this.live, ...this.replaying]) watcher.fail(unknownBatch(this.id));
      this.replaying.clear();
      this.close();
      return;
    }
    const before = this.state.snapshot;
    this.state = state;
    const final = isFinalStatus(state.snapshot.status);
    const until = final ? state.chunks : state.contiguousChunks;
    const withRows = [...this.live].some((watcher) => watcher.withRows);
    if (withRows && until > this.next) {
      // Once final, chunks never recorded (cancelled before they ran) are skipped.
      const chunks = final ? (await store.recordedChunks(this.id)).filter((chunk) => chunk >= this.next) : range(this.next, until);
      const pages = final ? [chunks] : pagesOf(chunks, this.settings.chunksPerEvent);
      for (const page of pages) {
        const rows = await store.rowsOfChunks(this.id, state.model, page);
        if (this.closed) return;
        this.next = page.length > 0 ? page[page.length - 1] + 1 : until;
        this.broadcast(state, rows);
      }
      this.next = until;
    } else {
      this.next = Math.max(this.next, until);
      if (final || changed(before, state.snapshot)) this.broadcast(state, []);
    }
    if (final) this.close();
  }

  private broadcast(state: BatchProgressState, rows: BatchRowResult[]): void {
    const withRows = { batch: state.snapshot, rows };
    const withoutRows = rows.length === 0 ? withRows : { batch: state.snapshot, rows: [] };
    for (const watcher of this.live) watcher.push(watcher.withRows ? withRows : withoutRows);
  }

  /**
   * Sends a subscriber the rows from chunk `chunk` up to where the feed is, a page at a time and
   * only as fast as it takes them, then lets it join the live subscribers. A Redis outage is
   * waited out (up to the grace period).
   */
  private async replay(watcher: ProgressWatcher, chunk: number): Promise<void> {
    const { store } = this.options;
    let failingSince: number | undefined;
    let cursor = chunk;
    while (!watcher.ended) {
      if (!this.closed && cursor >= this.next) {
        this.replaying.delete(watcher);
        this.live.add(watcher);
        return;
      }
      try {
        await watcher.drained();
        const until = this.closed ? this.state.chunks : this.next;
        const wanted = this.closed ? (await store.recordedChunks(this.id)).filter((c) => c >= cursor && c < until) : range(cursor, until);
        const page = wanted.slice(0, this.settings.chunksPerEvent);
        const rows = await store.rowsOfChunks(this.id, this.state.model, page);
        if (watcher.ended) break;
        watcher.push({ batch: this.state.snapshot, rows });
        cursor = page.length > 0 ? page[page.length - 1] + 1 : until;
        failingSince = undefined;
        if (this.closed && cursor >= until) {
          watcher.end();
          break;
        }
      } catch (error) {
        failingSince ??= Date.now();
        if (Date.now() - failingSince >= this.settings.outageGraceMs) {
          watcher.fail(unreadable(this.id, error));
          break;
        }
        await sleep(this.settings.pollMs);
      }
    }
    this.replaying.delete(watcher);
    if (this.live.size === 0 && this.replaying.size === 0) this.close();
  }
}

function pagesOf<T>(items: T[], size: number): T[][] {
  const pages: T[][] = [];
  for (let i = 0; i < items.length; i += size) pages.push(items.slice(i, i + size));
  return pages;
}

/** Whether a subscriber would see a difference (rows/s and ETA alone do not count). */
function changed(before: BatchProgressState['snapshot'], after: BatchProgressState['snapshot']): boolean {
  return before.status !== after.status || before.processed !== after.processed || before.total !== after.total;
}

/** Why a subscription ends when its batch could not be read for the whole grace period. */
function unreadable(id: string, error: unknown): SiftError {
  if (isRedisOutage(error)) return redisUnavailable();
  return unavailableError(ErrorCodes.PROGRESS_UNAVAILABLE, `The progress of batch ${id} could not be read for a while; subscribe again (with fromRow) in a moment.`, 5);
}

function tooSlow(resumeFrom: number): SiftError {
  return unavailableError(
    ErrorCodes.SUBSCRIBER_TOO_SLOW,
    `This subscription fell too far behind the batch's rows (the client reads slower than they finish); subscribe again with fromRow: ${resumeFrom} to carry on from the first row it missed.`,
    0,
  );
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
