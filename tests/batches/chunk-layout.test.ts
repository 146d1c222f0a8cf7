import { ChunkCuts, ChunkLayout, CutLayouts } from '../../src/batches/chunk-layout';

/** The layout ChunkCuts records for chunks of these row counts, as a batch record would keep it. */
function layoutOf(chunkSize: number, rowsPerChunk: readonly number[]): ChunkLayout {
  const cuts = new ChunkCuts(chunkSize);
  for (const rows of rowsPerChunk) cuts.add(rows);
  const total = rowsPerChunk.reduce((sum, rows) => sum + rows, 0);
  return ChunkLayout.ofRecord(chunkSize, cuts.encoded(), rowsPerChunk.length, total);
}

/** Checks every row's chunk and every chunk's first row against the chunks laid end to end. */
function expectLayout(layout: ChunkLayout, rowsPerChunk: readonly number[]): void {
  expect(layout.chunks).toBe(rowsPerChunk.length);
  let first = 0;
  rowsPerChunk.forEach((rows, chunk) => {
    expect(layout.firstRow(chunk)).toBe(first);
    for (let row = first; row < first + rows; row++) expect(layout.chunkOf(row)).toBe(chunk);
    first += rows;
  });
  // Past the last row: past or at the last chunk, never before it; the chunk after the last starts at or after the end.
  expect(layout.chunkOf(first)).toBeGreaterThanOrEqual(rowsPerChunk.length - 1);
  expect(layout.firstRow(rowsPerChunk.length)).toBeGreaterThanOrEqual(first);
}

describe('ChunkLayout: which rows each chunk of a batch holds', () => {
  it('keeps nothing for chunks all full but the last, and reads a record without cuts as such (every batch stored before cuts)', () => {
    const cuts = new ChunkCuts(10);
    for (const rows of [10, 10, 10, 4]) cuts.add(rows);
    expect(cuts.encoded()).toBe('');
    expectLayout(ChunkLayout.ofRecord(10, '', 4, 34), [10, 10, 10, 4]);
    expectLayout(ChunkLayout.ofRecord(10, undefined, null, 34), [10, 10, 10, 4]);
    expect(ChunkLayout.ofRecord(10, null, null, 0).chunks).toBe(0);
  });

  it('keeps only the chunks cut short, and finds every row through them', () => {
    const rows = [10, 3, 10, 10, 1, 7, 10, 2];
    expect(new ChunkCuts(10).encoded()).toBe('');
    const cuts = new ChunkCuts(10);
    for (const n of rows) cuts.add(n);
    expect(cuts.encoded()).toBe('1:3,4:1,5:7');
    expectLayout(layoutOf(10, rows), rows);
  });

  it('agrees with chunks laid end to end for random cuts, a chunk of one row to chunks all cut', () => {
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 200; trial++) {
      const chunkSize = 1 + Math.floor(random() * 12);
      const cutShare = random();
      const rows = Array.from({ length: 1 + Math.floor(random() * 30) }, () => (random() < cutShare ? 1 + Math.floor(random() * chunkSize) : chunkSize));
      expectLayout(layoutOf(chunkSize, rows), rows);
    }
  });
});

describe('CutLayouts: the layouts of batches with cuts, read once', () => {
  it('keeps layouts up to a number of cuts, dropping the least recently read first', () => {
    const cuts = (n: number) => layoutOf(10, [...Array.from({ length: n }, () => 5), 10]);
    const layouts = new CutLayouts(10 + 2 * CutLayouts.ENTRY_CUTS);
    layouts.set('a', cuts(4));
    layouts.set('b', cuts(4));
    expect(layouts.get('a')?.cuts).toBe(4);
    // 'b' is now the least recently read: it goes to make room.
    layouts.set('c', cuts(4));
    expect([layouts.get('a'), layouts.get('b'), layouts.get('c')].map((layout) => layout?.cuts)).toEqual([4, undefined, 4]);
    // One with more cuts than the bound is not kept, and takes nothing out.
    layouts.set('d', cuts(11 + 2 * CutLayouts.ENTRY_CUTS));
    expect([layouts.get('a'), layouts.get('c'), layouts.get('d')].map((layout) => layout?.cuts)).toEqual([4, 4, undefined]);
  });

  it('counts every layout, not only its cuts: layouts of one cut each are bounded in number too', () => {
    const layouts = new CutLayouts(100 * (1 + CutLayouts.ENTRY_CUTS));
    for (let i = 0; i < 1000; i++) layouts.set(`batch-${i}`, layoutOf(10, [5, 10]));
    const kept = Array.from({ length: 1000 }, (_, i) => layouts.get(`batch-${i}`)).filter(Boolean).length;
    expect(kept).toBe(100);
    expect(layouts.get('batch-999')).toBeDefined();
  });
});
