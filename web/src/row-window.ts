import type { BatchResultsQuery } from '../../src/client/generated/graphql';

export type Row = NonNullable<BatchResultsQuery['batch']>['results'][number];

/** Reads a batch's finished rows with input indices in [offset, offset + limit) (Batch.results). */
export type ReadRows = (offset: number, limit: number) => Promise<Row[]>;

/** Rows the table shows at once. */
export const TABLE_ROWS = 300;
/** Most rows one Batch.results read may ask for (the server's limit). */
const MOST_PER_READ = 1000;
/** Windows a search reads past before it gives up (gaps of rows not finished yet). */
const MOST_READS = 8;

/**
 * Which finished rows of one batch the table shows: the newest ones, live, as they finish; or a
 * page of TABLE_ROWS the user moved to with "Earlier rows" and "Later rows".
 *
 * Everything is counted from the rows that are finished, never from the batch's total: a running
 * or cancelled batch has finished rows only up to about `processed`. Chunks finish out of order
 * when a worker runs several at once, so a window of indices may hold no finished row; a move then
 * looks further, and a page is never empty while finished rows exist in that direction.
 */
export class RowWindow {
  /** The newest finished rows, newest first, at most TABLE_ROWS. */
  live: Row[] = [];
  /** The page the user moved to, in input order, or null for the live rows. */
  page: Row[] | null = null;
  /** The first index shown when "Earlier rows" found nothing before it. */
  private nothingBefore = -1;

  constructor(private readonly read: ReadRows) {}

  /** Adds rows that finished (from an event or a read): each row once, newest first. */
  add(rows: readonly Row[]): void {
    if (rows.length === 0) return;
    const seen = new Set(this.live.map((r) => r.index));
    const fresh = rows.filter((r) => !seen.has(r.index));
    this.live = [...this.live, ...fresh].sort((a, b) => b.index - a.index).slice(0, TABLE_ROWS);
  }

  /**
   * Where a live subscription that dropped resumes (its `fromRow`): the row after the newest of the
   * run of live rows, without a gap, from the oldest the table holds. Rows past a gap (read around
   * `processed` while earlier chunks were still running) come again and are added once; rows
   * before the oldest held are not needed: the table shows the newest. Null when no row is held.
   */
  resumeFrom(): number | null {
    if (this.live.length === 0) return null;
    let last = this.live.length - 1;
    while (last > 0 && this.live[last - 1].index === this.live[last].index + 1) last--;
    return this.live[last].index + 1;
  }

  /**
   * Reads the newest finished rows of a batch that has `processed` of its `total` rows finished:
   * one read around `processed` (some chunks past it may be done already), and further back only
   * when that window holds none.
   */
  async loadNewest(processed: number, total: number): Promise<void> {
    if (processed === 0) return;
    let end = Math.min(total, processed + MOST_PER_READ - TABLE_ROWS);
    for (let reads = 0; reads < MOST_READS && end > 0; reads++) {
      const start = Math.max(0, end - MOST_PER_READ);
      const rows = await this.read(start, end - start);
      if (rows.length > 0) return this.add(rows);
      end = start;
    }
  }

  /** The rows to show: the page, or the live rows. */
  get rows(): readonly Row[] {
    return this.page ?? this.live;
  }

  private get firstShown(): number | null {
    if (this.page) return this.page[0].index;
    return this.live.length > 0 ? this.live[this.live.length - 1].index : null;
  }

  get hasEarlier(): boolean {
    const first = this.firstShown;
    return first !== null && first > 0 && first !== this.nothingBefore;
  }

  get hasLater(): boolean {
    return this.page !== null;
  }

  /** The TABLE_ROWS indices before the first row shown, going further back past unfinished ones. */
  async earlier(): Promise<void> {
    const first = this.firstShown;
    if (first === null) return;
    for (let start = first, reads = 0; start > 0 && reads < MOST_READS; reads++) {
      start = Math.max(0, start - TABLE_ROWS);
      const rows = await this.read(start, TABLE_ROWS);
      if (rows.some((r) => r.index < first)) {
        this.page = rows;
        return;
      }
    }
    this.nothingBefore = first;
  }

  /** The TABLE_ROWS indices after the last row of the page; back to the live rows once it reaches them. */
  async later(): Promise<void> {
    if (!this.page) return;
    const liveStart = this.live.length > 0 ? this.live[this.live.length - 1].index : Infinity;
    for (let from = this.page[this.page.length - 1].index + 1, reads = 0; reads < MOST_READS; reads++, from += TABLE_ROWS) {
      if (from >= liveStart) break;
      const rows = await this.read(from, TABLE_ROWS);
      if (rows.length > 0) {
        this.page = rows;
        return;
      }
    }
    this.page = null;
  }

  /** Back to the live rows. */
  newest(): void {
    this.page = null;
  }
}
