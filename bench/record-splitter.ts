/**
 * `node dist/bench/record-splitter.js`: how long CsvRecordSplitter (src/formats/csv-records.ts,
 * which the API runs on every CSV upload and `sift batch` on its input for the merge) takes over
 * the file bench's 200,000-row CSV, in pieces of 64 KiB as a stream gives them, five times. With
 * BENCH_OTHER_ROOT=<another checkout, built>, that checkout's splitter is timed too, the two
 * alternating, so both see the same machine.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CsvRecordSplitter, type RecordKind } from '../src/formats/csv-records';
import { writeBatchCsv } from './batch-files';
import { alternate, builds, runBench } from './two-builds';

const ROUNDS = 5;
const PIECE = 1 << 16;

type Splitter = new () => Pick<CsvRecordSplitter, 'push' | 'end'>;

function timeSplit(Splitter: Splitter, pieces: readonly string[]): { ms: number; records: number } {
  const started = process.hrtime.bigint();
  const splitter = new Splitter();
  let records = 0;
  for (const piece of pieces) {
    const found: string[] = [];
    splitter.push(piece, found, [] as RecordKind[]);
    records += found.length;
  }
  const last: string[] = [];
  splitter.end(last, []);
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, records: records + last.filter((record) => record !== '').length };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sift-splitter-'));
  try {
    const file = await writeBatchCsv(path.join(dir, 'in.csv'), 200_000, 0.3);
    const text = readFileSync(file.path, 'utf8');
    const pieces = Array.from({ length: Math.ceil(text.length / PIECE) }, (_, i) => text.slice(i * PIECE, (i + 1) * PIECE));
    const sides = builds<Splitter>(CsvRecordSplitter, 'src/formats/csv-records.js', 'CsvRecordSplitter');
    console.log(`CsvRecordSplitter over ${file.rows.toLocaleString('en-US')} rows (${(file.bytes / 1e6).toFixed(1)} MB) in ${pieces.length} pieces of 64 KiB; ms per pass, ${ROUNDS} rounds`);
    alternate(sides, ROUNDS, (Splitter, name) => {
      const { ms, records } = timeSplit(Splitter, pieces);
      if (records !== file.rows + 1) throw new Error(`${name}: ${records} records, expected ${file.rows + 1} (the header and every row)`);
      return ms;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
