/**
 * `node dist/bench/text-hash.js`: how long textHash (src/cache/prediction-cache.ts, the cache key
 * of every text a worker or the API labels) takes over the texts of the file bench's 200,000-row
 * CSV, five times. With BENCH_OTHER_ROOT=<another checkout, built>, that checkout's textHash is
 * timed too, the two alternating, so both see the same machine, and both must give the same keys.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { textHash } from '../src/cache/prediction-cache';
import { writeBatchCsv } from './batch-files';
import { alternate, builds, runBench } from './two-builds';

const ROUNDS = 5;

runBench(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sift-text-hash-'));
  try {
    const file = await writeBatchCsv(path.join(dir, 'file.csv'), 200_000, 0.3);
    const texts = (parse(readFileSync(file.path), { columns: true }) as { text: string }[]).map((row) => row.text);
    const sides = builds(textHash, 'src/cache/prediction-cache.js', 'textHash');
    let expected: string | null = null;
    console.log(`textHash over ${texts.length} texts, ms per pass (${ROUNDS} passes, alternating)`);
    alternate(sides, ROUNDS, (hashOf, name) => {
      let last = '';
      const started = process.hrtime.bigint();
      for (const text of texts) last = hashOf(text);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The last key, and every 1,000th, must be the same on both sides.
      let sample = last;
      for (let i = 0; i < texts.length; i += 1000) sample += hashOf(texts[i]);
      if (expected !== null && sample !== expected) throw new Error(`${name} gives other keys`);
      expected = sample;
      return ms;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
