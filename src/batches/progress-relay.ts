import { ErrorCodes, unavailableError, type SiftError } from '../errors';
import type { Logger } from '../logger';
import { isRedisOutage, redisUnavailable } from '../redis/outage';
import { isFinalStatus } from './batch-status';
import type { BatchProgressState, BatchStore } from './batch-store';
import { unknownBatch, type BatchSnapshot } from './batch-types';
import type { ProgressChannel } from './progress-channel';
import { ProgressWatcher, snapshotChanged, type ProgressEvent } from './progress-watcher';
import { timeLimit } from '../time-limit';

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
  /** Chunks whose rows go in one event, at most. */
  chunksPerEvent?: number;
  /**
   * Bytes the chunks of one event may hold in Redis together (their results and recorded input),
   * past its first chunk: an event of rows as long and as escaped as a row may be stored (about
   * 30 KB each) was 240 MB at eight chunks, and one subscription took the API to 1.67 GB.
   */
  maxEventBytes?: number;
  /**
   * Events a row subscriber may have waiting when the next rows go out: the relay sends rows only
   * as fast as its row subscribers take them, and waits (reading the next rows meanwhile) while
   * any but the slowest has this many waiting.
   */
  paceEvents?: number;
  /**
   * Rows a subscriber may have waiting before it is ended with SUBSCRIBER_TOO_SLOW: only the
   * slowest row subscriber is not waited for, so only one far slower than the others (or stuck)
   * gets there.
   */
  maxPendingRows?: number;
  /**
   * Characters of the waiting rows' ids and texts past which a subscriber is ended the same way:
   * 50,000 rows as long as a row may be stored are about 450 MB of strings, which one stuck
   * subscriber beside a reading one kept alive.
   */
  maxPendingCharacters?: number;
}

const DEFAULTS = { pollMs: 1000, outageGraceMs: 30_000, chunksPerEvent: 8, maxEventBytes: 8 * 2 ** 20, paceEvents: 2, maxPendingRows: 50_000, maxPendingCharacters: 64 * 2 ** 20 };

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Live progress of batches for every subscriber of one API process. Each watched batch has one
 * feed per process: one pub/sub subscription, one read of the record per change and one read of
 * each finished chunk's rows, whatever the number of subscribers; every subscriber gets the same
 * event objects.
 *
 * Rows go out only as fast as the row subscribers take them (each takes its next event once its
 * last is written to its socket): the feed reads the next rows while they send, and sends them
 * once every row subscriber but the slowest has fewer than `paceEvents` waiting. When the API
 * itself is the bottleneck, everyone is paced alike and no one falls behind; one client far
 * slower than the rest (or stuck) is not waited for, and is ended with SUBSCRIBER_TOO_SLOW once
 * `maxPendingRows` wait for it. Subscribers that select no rows get a snapshot whenever the record
 * changes, whatever the row subscribers' pace, and the final one as soon as the batch ends; row
 * subscribers get the final status only with the last of their rows.
 *
 * Rows go out in input order. The record says how many chunks from the first are all recorded
 * (`contiguousChunks`), and the feed sends rows up to there; a chunk that finishes early waits
 * for the ones before it. So a subscriber's rows are always a run from where it started, and a
 * client that reconnects resumes with `fromRow` = the index after its last row: no gap, no
 * duplicate. Once the batch ends nothing more is recorded (see record-chunk.ts): the rows still
 * to send go out in pages as ever, and the last of them carries the batch's final counts.
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
  async watch(id: string, options: WatchOptions): Promise<ProgressWatcher> {
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
  /** Set by open() once it has read the record; never undefined after that. */
  private state!: BatchProgressState;
  /** The newest snapshot without a final status: row events sent before the last carry it. */
  private openSnapshot!: BatchSnapshot;
  /** The snapshot row subscribers got last (with rows or alone). */
  private rowsSnapshot: BatchSnapshot | undefined;
  /** The last snapshot-only event made, handed to everyone it is for. */
  private snapshotOnly: ProgressEvent | undefined;
  /** The next chunk whose rows go out: every chunk before it has been sent (or, once final, skipped as never recorded). */
  private next = 0;
  /** Once final: the chunks recorded (the others were cancelled before they ran). */
  private finalChunks: number[] | undefined;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private readAgain = false;
  /** A message came before open's first read of the record was in (see wake). */
  private wokeBeforeRead = false;
  private pumping = false;
  private pumpAgain = false;
  /** Since when reading the record (`read`) or the rows (`pump`) has failed, if it does. */
  private readonly failingSince: { read?: number; pump?: number } = {};
  closed = false;

  constructor(
    private readonly id: string,
    private readonly options: ProgressRelayOptions,
    private readonly settings: typeof DEFAULTS,
    private readonly onClosed: () => void,
  ) {}

  /**
   * Subscribes to the batch's messages, then reads where it stands (in that order, so no change is
   * missed). A SUBSCRIBE waits for Redis however long it is away (the subscriber connection retries
   * without limit), so one sent as an outage begins is given the outage grace and no more: the
   * subscriber is refused with REDIS_UNAVAILABLE, and a SUBSCRIBE that completes later is undone.
   */
  async open(): Promise<void> {
    const subscribing = this.options.channel.subscribe(this.id, () => this.wake());
    try {
      this.unsubscribe = await timeLimit(subscribing, this.settings.outageGraceMs, () => {
        throw redisUnavailable();
      });
    } catch (error) {
      subscribing.then((unsubscribe) => unsubscribe(), () => undefined);
      this.close();
      throw error;
    }
    try {
      const state = await this.options.store.progress(this.id);
      if (!state) throw unknownBatch(this.id);
      this.state = state;
      this.openSnapshot = state.snapshot;
      this.next = isFinalStatus(state.snapshot.status) ? state.layout.chunks : state.contiguousChunks;
    } catch (error) {
      this.close();
      throw error;
    }
    if (this.final) this.close();
    else if (this.wokeBeforeRead) this.wake();
    else this.schedulePoll();
  }

  /** A new subscriber: the current snapshot first, then its rows from `fromRow`, then live events. */
  add(options: WatchOptions): ProgressWatcher {
    const layout = this.state.layout;
    const fromRow = options.fromRow ?? layout.firstRow(this.next);
    // Never less than pacing itself lets wait (large chunks make large pages).
    const { maxPendingRows, maxPendingCharacters, paceEvents, chunksPerEvent } = this.settings;
    const limit = { rows: Math.max(maxPendingRows, (paceEvents + 1) * chunksPerEvent * layout.chunkSize), characters: maxPendingCharacters, events: paceEvents + 1 };
    const watcher = new ProgressWatcher(options.withRows, fromRow, limit, (resumeFrom) => tooSlow(resumeFrom), (w) => this.leave(w));
    const behind = options.withRows && layout.chunkOf(fromRow) < this.next;
    watcher.push(this.snapshotEvent(options.withRows && !this.closed ? this.visibleToRows() : this.state.snapshot));
    if ((this.closed || (this.final && !options.withRows)) && !behind) {
      watcher.end();
    } else if (behind) {
      this.replaying.add(watcher);
      void this.replay(watcher, layout.chunkOf(fromRow));
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

  private get final(): boolean {
    return isFinalStatus(this.state.snapshot.status);
  }

  /** The snapshot a row subscriber may see now: never a final one before its last rows. */
  private visibleToRows(): BatchSnapshot {
    return this.final ? this.openSnapshot : this.state.snapshot;
  }

  /** `{ batch: snapshot, rows: [] }`, the same object for everyone while the snapshot stays. */
  private snapshotEvent(snapshot: BatchSnapshot): ProgressEvent {
    if (this.snapshotOnly?.batch !== snapshot) this.snapshotOnly = { batch: snapshot, rows: [] };
    return this.snapshotOnly;
  }

  private rowWatchers(): ProgressWatcher[] {
    return [...this.live].filter((watcher) => watcher.withRows && !watcher.ended);
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

  /**
   * Reads the batch again (once at a time; a wake during a read runs one more after it). A message
   * may come before open's first read of the record is in: there is nothing to compare with yet,
   * and that read may or may not have seen what the message announced (the reply and the message
   * come on two connections), so open reads once more after it.
   */
  private wake(): void {
    if (this.state === undefined) {
      this.wokeBeforeRead = true;
      return;
    }
    if (this.closed) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    void this.read()
      .then(() => (this.failingSince.read = undefined))
      .catch((error: Error) => this.failed('read', error))
      .finally(() => {
        this.reading = false;
        if (this.readAgain && !this.closed) {
          this.readAgain = false;
          this.wake();
        } else {
          this.schedulePoll();
        }
      });
  }

  private failed(what: 'read' | 'pump', error: Error): void {
    const { logger } = this.options;
    if (!isRedisOutage(error)) logger.warn(`progress of batch ${this.id}: ${error.message}`);
    const since = (this.failingSince[what] ??= Date.now());
    if (Date.now() - since < this.settings.outageGraceMs) return;
    for (const watcher of [...this.live, ...this.replaying]) watcher.fail(unreadable(this.id, error));
    this.replaying.clear();
    this.close();
  }

  /**
   * Reads the record: subscribers without rows get the new snapshot if a count or the status
   * changed (and end with the final one); the row pump is started to send what was recorded.
   */
  private async read(): Promise<void> {
    const state = await this.options.store.progress(this.id);
    if (this.closed) return;
    if (!state) {
      // Gone (its retention ran out): nothing more will come.
      for (const watcher of [...this.live, ...this.replaying]) watcher.fail(unknownBatch(this.id));
      this.replaying.clear();
      this.close();
      return;
    }
    const before = this.state.snapshot;
    this.state = state;
    if (!this.final) this.openSnapshot = state.snapshot;
    if (this.final || snapshotChanged(before, state.snapshot)) {
      const event = this.snapshotEvent(state.snapshot);
      for (const watcher of this.live) {
        if (watcher.withRows) continue;
        watcher.push(event);
        if (this.final) {
          watcher.end();
          this.live.delete(watcher);
        }
      }
    }
    this.pump();
  }

  /** Starts the row pump (once at a time; a call while it runs makes it look again before it stops). */
  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.sendRows()
      .then(() => (this.failingSince.pump = undefined))
      .catch((error: Error) => this.failed('pump', error))
      .finally(() => {
        this.pumping = false;
        if (this.pumpAgain && !this.closed) {
          this.pumpAgain = false;
          this.pump();
        }
      });
  }

  /**
   * Sends row subscribers the rows recorded since the last, a page of `chunksPerEvent` chunks at
   * a time, each page once they have room for it (see `room`), then the new snapshot, and once the
   * batch is final and every recorded row is out, the final event; then the feed closes.
   */
  private async sendRows(): Promise<void> {
    const { store } = this.options;
    for (;;) {
      this.pumpAgain = false;
      if (this.closed) return;
      const state = this.state;
      const final = this.final;
      if (this.rowWatchers().length === 0) {
        // No one to send rows to: the feed is where the record is (replays read older rows themselves).
        this.next = Math.max(this.next, final ? state.layout.chunks : state.contiguousChunks);
        if (final) this.close();
        return;
      }
      const page = await this.pageOf(final ? await this.finalChunksFromNext() : range(this.next, Math.min(state.contiguousChunks, this.next + this.settings.chunksPerEvent)));
      if (page.length === 0) {
        // Every recorded row is out: the new snapshot, or the final event.
        const snapshot = final ? state.snapshot : this.visibleToRows();
        if (final || snapshotChanged(this.rowsSnapshot, snapshot)) this.broadcastRows(this.snapshotEvent(snapshot));
        if (final) {
          this.next = state.layout.chunks;
          this.close();
        }
        return;
      }
      const rows = await store.rowsOfChunks(this.id, state.model, page);
      await this.room();
      if (this.closed) return;
      this.next = page[page.length - 1] + 1;
      const last = final && this.finalChunks!.every((chunk) => chunk < this.next);
      this.broadcastRows({ batch: last ? state.snapshot : this.visibleToRows(), rows });
      if (last) {
        this.next = state.layout.chunks;
        this.close();
        return;
      }
    }
  }

  /** Once final: the next page of recorded chunks (chunks never recorded, cancelled before they ran, are skipped). */
  private async finalChunksFromNext(): Promise<number[]> {
    this.finalChunks ??= await this.options.store.recordedChunks(this.id);
    return this.finalChunks.filter((chunk) => chunk >= this.next);
  }

  /**
   * The chunks of one event: the first of `chunks`, and those after it while they hold no more
   * than `maxEventBytes` together, up to `chunksPerEvent` (their sizes read in one round trip).
   */
  private async pageOf(chunks: readonly number[]): Promise<number[]> {
    const candidates = chunks.slice(0, this.settings.chunksPerEvent);
    if (candidates.length <= 1) return candidates;
    return (await this.options.store.chunksWithin(this.id, candidates, this.settings.maxEventBytes)).chunks;
  }

  /**
   * Waits until every row subscriber but the slowest has fewer than `paceEvents` events waiting
   * (one that ends or leaves holds no one). The slowest is left out so that one stuck client
   * cannot hold the others: it falls behind, and past `maxPendingRows` it is ended.
   */
  private async room(): Promise<void> {
    const { paceEvents } = this.settings;
    const watchers = this.rowWatchers();
    const full = watchers.filter((watcher) => watcher.queued >= paceEvents);
    if (watchers.length > 1 && full.length > 0) {
      full.sort((a, b) => b.pendingRows - a.pendingRows);
      full.shift();
    }
    await Promise.all(full.map((watcher) => watcher.room(paceEvents)));
  }

  private broadcastRows(event: ProgressEvent): void {
    this.rowsSnapshot = event.batch;
    for (const watcher of this.live) if (watcher.withRows) watcher.push(event);
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
        // Whether the feed had closed when this page was chosen: it may close while the page is
        // read, and then `until` (where the feed was) is not the end; the next page goes on to it.
        const closed = this.closed;
        const until = closed ? this.state.layout.chunks : this.next;
        const wanted = closed ? (await store.recordedChunks(this.id)).filter((c) => c >= cursor && c < until) : range(cursor, until);
        const page = await this.pageOf(wanted);
        const rows = await store.rowsOfChunks(this.id, this.state.model, page);
        if (watcher.ended) break;
        // A batch that ended shows its final status in every event of a replay (see the subscription's description).
        watcher.push({ batch: closed ? this.state.snapshot : this.visibleToRows(), rows });
        cursor = page.length > 0 ? page[page.length - 1] + 1 : until;
        failingSince = undefined;
        if (closed && cursor >= until) {
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

/** Why a subscription ends when its batch could not be read for the whole grace period. */
function unreadable(id: string, error: unknown): SiftError {
  if (isRedisOutage(error)) return redisUnavailable();
  return unavailableError(ErrorCodes.PROGRESS_UNAVAILABLE, `The progress of batch ${id} could not be read for a while; subscribe again (with fromRow) in a moment.`, 5);
}

function tooSlow(resumeFrom: number): SiftError {
  return unavailableError(
    ErrorCodes.SUBSCRIBER_TOO_SLOW,
    `This subscription fell too far behind the other subscribers of this batch (the client reads its rows slower than they do); subscribe again with fromRow: ${resumeFrom} to carry on from the first row it missed.`,
    0,
  );
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
