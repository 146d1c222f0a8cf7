/**
 * Which rows each chunk of a batch holds. A chunk holds up to the batch's chunk size in rows, and
 * is cut sooner when its ids and texts reach a number of characters (see batch-ingest.ts), so that
 * a chunk of long rows stays a few megabytes wherever it is held: the API reading it, a worker
 * labelling it, a download or a progress event sending it. A batch record keeps its chunk size and,
 * when a chunk other than the last was cut short, how many were (`cutChunks`), each such chunk
 * with its rows kept beside the record (`batch:{id}:cuts`, ChunkCuts.encoded): only the exceptions,
 * so a batch of a million chunks with one run of long rows keeps a few of them, and a batch without
 * any (nearly every batch, and every one stored before cuts existed) keeps nothing, a row's chunk
 * following from its index alone.
 */
export class ChunkLayout {
  private constructor(
    /** Rows a chunk holds at most. */
    readonly chunkSize: number,
    /** Chunks in the batch. */
    readonly chunks: number,
    /** The chunks cut short (not the last), in order. */
    private readonly cutChunks: readonly number[],
    /** For each cut chunk, the rows missing from it and from every cut chunk before it. */
    private readonly missingAfter: readonly number[],
  ) {}

  /** Every chunk but the last holds `chunkSize` rows. */
  static uniform(chunkSize: number, chunks: number): ChunkLayout {
    return new ChunkLayout(chunkSize, chunks, [], []);
  }

  /**
   * The layout a batch keeps: its record's `chunkSize`, its cuts (ChunkCuts.encoded; absent or ''
   * for none) and its chunk count (`chunks`; from `total` when the record has none).
   */
  static ofRecord(chunkSize: number, cuts: string | null | undefined, chunks: number | null, total: number): ChunkLayout {
    const count = chunks ?? Math.ceil(total / chunkSize);
    if (!cuts) return ChunkLayout.uniform(chunkSize, count);
    const cutChunks: number[] = [];
    const missingAfter: number[] = [];
    let missing = 0;
    for (const cut of cuts.split(',')) {
      const [chunk, rows] = cut.split(':').map(Number);
      missing += chunkSize - rows;
      cutChunks.push(chunk);
      missingAfter.push(missing);
    }
    return new ChunkLayout(chunkSize, count, cutChunks, missingAfter);
  }

  /** How many chunks were cut short. */
  get cuts(): number {
    return this.cutChunks.length;
  }

  /** The first row of chunk `chunk` (for the chunk after the last: the row after the last). */
  firstRow(chunk: number): number {
    // The cut chunks before this one: the last whose number is below it.
    const before = this.lastIndexWhere((k) => this.cutChunks[k] < chunk);
    return chunk * this.chunkSize - (before < 0 ? 0 : this.missingAfter[before]);
  }

  /** The chunk that holds row `row` (for a row past the last: a chunk past the last, or the last). */
  chunkOf(row: number): number {
    // The last cut chunk that ends at or before the row: the rows after it are short by its missingAfter.
    const before = this.lastIndexWhere((k) => (this.cutChunks[k] + 1) * this.chunkSize - this.missingAfter[k] <= row);
    return Math.floor((row + (before < 0 ? 0 : this.missingAfter[before])) / this.chunkSize);
  }

  /** The largest index of cutChunks for which `holds` (true up to some index, false after), or -1. */
  private lastIndexWhere(holds: (k: number) => boolean): number {
    let low = -1;
    let high = this.cutChunks.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (holds(middle)) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}

/**
 * The chunks of an upload that were cut short, collected as it is cut: `encoded()` is what the
 * batch keeps beside its record (`batch:{id}:cuts`), '' when none was (the last chunk may be short
 * anyway).
 */
export class ChunkCuts {
  private readonly cuts: string[] = [];
  private chunks = 0;
  private lastRows = 0;

  constructor(private readonly chunkSize: number) {}

  /** The next chunk holds `rows` rows. */
  add(rows: number): void {
    if (this.chunks > 0 && this.lastRows < this.chunkSize) this.cuts.push(`${this.chunks - 1}:${this.lastRows}`);
    this.chunks++;
    this.lastRows = rows;
  }

  /** How many chunks were cut short before the last. */
  get count(): number {
    return this.cuts.length;
  }

  /** Each chunk cut short before the last, as `chunk:rows`, comma-separated. */
  encoded(): string {
    return this.cuts.join(',');
  }
}

/**
 * Layouts of batches with cut chunks, by batch id, as read once: a batch's cuts never change once
 * its input is read, and every read of its rows or progress needs them (parsing 90,000 cuts took
 * 40 to 65 ms, and the relay reads a batch's progress at every chunk it finishes). Bounded by the
 * cuts held, each layout counted as ENTRY_CUTS more (what an entry costs beside its cuts: a million
 * layouts of one cut held 524 MB), the batches read least recently going first: at most about
 * 40 MB.
 */
export class CutLayouts {
  private readonly layouts = new Map<string, ChunkLayout>();
  private held = 0;

  constructor(private readonly maxCuts = 1_000_000) {}

  /** What one layout costs beside its cuts, in cuts (about 550 bytes an entry, 20 a cut). */
  static readonly ENTRY_CUTS = 32;

  private static costOf(layout: ChunkLayout): number {
    return layout.cuts + CutLayouts.ENTRY_CUTS;
  }

  get(id: string): ChunkLayout | undefined {
    const layout = this.layouts.get(id);
    if (layout) {
      // Most recently read last.
      this.layouts.delete(id);
      this.layouts.set(id, layout);
    }
    return layout;
  }

  set(id: string, layout: ChunkLayout): void {
    if (CutLayouts.costOf(layout) > this.maxCuts || this.layouts.has(id)) return;
    this.layouts.set(id, layout);
    this.held += CutLayouts.costOf(layout);
    for (const [oldest, old] of this.layouts) {
      if (this.held <= this.maxCuts) break;
      this.layouts.delete(oldest);
      this.held -= CutLayouts.costOf(old);
    }
  }
}
