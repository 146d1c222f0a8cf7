import { rmSync } from 'node:fs';
import path from 'node:path';
import { OTHER_FIRST_TEXT, writeBatchCsv, type BatchFile } from './batch-files';
import { startWorker, type BatchBenchContext, type WorkerChild } from './batch-runs';
import { peerMissing, startCeleryPeer, type CeleryPeer, type PeerFileRun, type PeerSettings } from './celery-peer';
import type { Cleanup } from './cleanup';
import { runSiftFile, type SiftFileRun } from './file-runs';
import { median } from './median';

/** Everything the file-to-file section measured. */
export interface FileResult {
  file: Omit<BatchFile, 'path'>;
  rounds: number;
  /** Every Sift run, in the order run. */
  sift: SiftFileRun[];
  /** Every peer run, in the order run; empty when it did not run. */
  peer: PeerFileRun[];
  /** Why the peer did not run (one line), or null. */
  peerNotRun: string | null;
  /** Per round, Sift's rows/s over the peer's, in %: with 2 workers and with 1 (the peer always has 2). */
  ratiosPct: { twoWorkers: number[]; oneWorker: number[] };
  /** One run with 2 workers on a large file, for the CLI's and the API's peak RSS; null when BENCH_FILE_MEMORY_ROWS=0. */
  memory: { file: Omit<BatchFile, 'path'>; run: SiftFileRun } | null;
}

export interface FileSectionOptions {
  rows: number;
  rounds: number;
  /** Rows of the file the memory run labels (0: no memory run). */
  memoryRows: number;
  /** Rows of the untimed warm-up file each side labels first. */
  warmUpRows: number;
  /** The peer's settings, or null when BENCH_PEER=off. */
  peer: PeerSettings | null;
  /**
   * An API child for the runs with 1 worker and another for those with 2 (each its own key
   * prefix, so its queue has only that many workers).
   */
  contexts: { one: BatchBenchContext; two: BatchBenchContext };
  cleanup: Cleanup;
  dir: string;
  log: (line: string) => void;
}

/** The run of `runs` with the median rows/s (the upper middle one for an even count). */
export function medianRun<T extends { rowsPerSecond: number }>(runs: readonly T[]): T {
  const sorted = [...runs].sort((a, b) => a.rowsPerSecond - b.rowsPerSecond);
  return sorted[Math.floor(sorted.length / 2)];
}

/** How far the farthest run is from the median rows/s, in %. */
export function spreadPct(runs: readonly { rowsPerSecond: number }[]): number {
  const middle = medianRun(runs).rowsPerSecond;
  return (100 * Math.max(...runs.map((r) => Math.abs(r.rowsPerSecond - middle)))) / middle;
}

/**
 * The file-to-file section: `sift batch IN OUT` on a `rows`-row CSV (about 30% repeated texts)
 * with 1 and 2 workers, and the Celery peer (2 prefork workers) on the same file, each from a cold
 * cache, for `rounds` rounds. Within a round the three run back to back, and the order reverses
 * every round (1, 2, peer; then peer, 2, 1), so Sift's 2-worker run and the peer's are neighbours
 * every time and each goes first as often.
 *
 * Both sides run as servers do: started once and kept up across rounds, each warmed by one untimed
 * run of a smaller file (an API's first upload, a worker's code before V8 has compiled it, the
 * peer's pool processes loading their model are not what a user waits for on every file). Sift's
 * workers for each worker count have an API of their own, since every worker of a queue takes
 * its chunks.
 */
export async function runFileSection(options: FileSectionOptions): Promise<FileResult> {
  const { rows, rounds, warmUpRows, contexts, cleanup, dir, log } = options;
  log(`bench: writing a ${rows}-row CSV to ${dir}`);
  const file = await writeBatchCsv(path.join(dir, 'file.csv'), rows, 0.3);
  const warmUp = await writeBatchCsv(path.join(dir, 'warm-up.csv'), warmUpRows, 0.3, 3, OTHER_FIRST_TEXT);
  const peerNotRun = options.peer === null ? 'BENCH_PEER=off' : await peerMissing(options.peer);
  if (peerNotRun !== null) log(`bench: the Celery peer does not run: ${peerNotRun}`);

  let peer: CeleryPeer | null = null;
  const sift: SiftFileRun[] = [];
  const peerRuns: PeerFileRun[] = [];
  let memory: FileResult['memory'] = null;
  const workers = new Map<1 | 2, { context: BatchBenchContext; children: WorkerChild[] }>();
  try {
    for (const [count, context] of [[1, contexts.one], [2, contexts.two]] as const) {
      // In `workers` as each starts, so the finally below stops every one that did (and `cleanup`
      // from its spawn, so an abort while it starts stops it too).
      const children: WorkerChild[] = [];
      workers.set(count, { context, children });
      for (let i = 0; i < count; i++) children.push(await startWorker(context, cleanup));
      log(`bench: sift batch warm-up with ${count} worker(s), ${warmUpRows} rows`);
      await runSiftFile(context, warmUp, children, 0, dir, cleanup);
    }
    if (peerNotRun === null) peer = await startCeleryPeer(options.peer!, warmUp, cleanup, dir, log);
    for (let round = 1; round <= rounds; round++) {
      const order: ('peer' | 1 | 2)[] = round % 2 === 1 ? [1, 2, 'peer'] : ['peer', 2, 1];
      for (const side of order) {
        if (side === 'peer') {
          if (!peer) continue;
          log(`bench: file to file, the Celery peer (${options.peer!.workers} workers), round ${round} of ${rounds}`);
          peerRuns.push(await peer.run(file, round));
        } else {
          log(`bench: file to file, sift batch with ${side} worker(s), round ${round} of ${rounds}`);
          const { context, children } = workers.get(side)!;
          sift.push(await runSiftFile(context, file, children, round, dir, cleanup));
        }
      }
    }
    memory = options.memoryRows > 0 ? await memoryRun(options, workers.get(2)!.children) : null;
  } finally {
    await peer?.stop();
    await Promise.all([...workers.values()].flatMap(({ children }) => children.map((w) => w.stop())));
  }
  const ratios = (workers: number) =>
    peerRuns.map((p) => (100 * sift.find((s) => s.round === p.round && s.workers === workers)!.rowsPerSecond) / p.rowsPerSecond);
  const { path: _path, ...described } = file;
  return { file: described, rounds, sift, peer: peerRuns, peerNotRun, ratiosPct: { twoWorkers: ratios(2), oneWorker: ratios(1) }, memory };
}

/**
 * `sift batch IN OUT` once, with 2 workers, on a `memoryRows`-row file (110 MB for a million
 * rows): the CLI's and the API's peak RSS while a file far larger than either's memory bound
 * streams through both, twice (the upload, then the download merged with the input).
 */
async function memoryRun(options: FileSectionOptions, children: readonly WorkerChild[]): Promise<FileResult['memory']> {
  const { memoryRows, contexts, cleanup, dir, log } = options;
  log(`bench: writing a ${memoryRows}-row CSV for the memory run`);
  const big = await writeBatchCsv(path.join(dir, 'memory.csv'), memoryRows, 0.3, 23);
  try {
    log(`bench: file to file, sift batch with 2 workers on the ${memoryRows}-row file (memory)`);
    const run = await runSiftFile(contexts.two, big, children, 0, dir, cleanup);
    const { path: _path, ...described } = big;
    return { file: described, run };
  } finally {
    rmSync(big.path, { force: true });
  }
}

/** The median of the per-round ratios, in %; NaN without the peer. */
export function medianRatio(ratios: readonly number[]): number {
  return ratios.length === 0 ? NaN : median(ratios);
}
