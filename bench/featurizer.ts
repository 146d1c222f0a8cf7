/**
 * `node dist/bench/featurizer.js`: how long the bundled sentiment model's featurizer
 * (HashedFeaturizer.pack, src/models/tokenizers/hashed-ngrams.ts, most of the model's time in a
 * worker) takes over the distinct texts of the file bench's 200,000-row CSV, in runs of 1,000 as
 * a worker packs a chunk's misses, five times. With BENCH_OTHER_ROOT=<another checkout, built>,
 * that checkout's featurizer is timed too, the two alternating, so both see the same machine, and
 * the features of both must be the same.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { HashedFeaturizer, type HashedNgramsOptions } from '../src/models/tokenizers/hashed-ngrams';
import { writeBatchCsv } from './batch-files';
import { alternate, builds, runBench } from './two-builds';

const ROUNDS = 5;
const RUN = 1000;

type Featurizer = new (options: HashedNgramsOptions) => Pick<HashedFeaturizer, 'pack'>;

/** Packs every text in runs of RUN; the time and a checksum of every id, in order. */
function timePack(Featurizer: Featurizer, options: HashedNgramsOptions, texts: readonly string[]): { ms: number; checksum: number } {
  const featurizer = new Featurizer(options);
  let checksum = 0;
  const started = process.hrtime.bigint();
  for (let start = 0; start < texts.length; start += RUN) {
    const { ids } = featurizer.pack(texts.slice(start, start + RUN));
    for (let i = 0; i < ids.length; i++) checksum = (Math.imul(checksum, 31) + ids[i]) | 0;
  }
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, checksum };
}

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..');
  const { tokenizer } = JSON.parse(readFileSync(path.join(root, 'models', 'sentiment', 'manifest.json'), 'utf8')) as { tokenizer: HashedNgramsOptions };
  const dir = mkdtempSync(path.join(tmpdir(), 'sift-featurizer-'));
  try {
    const file = await writeBatchCsv(path.join(dir, 'in.csv'), 200_000, 0.3);
    const rows = parse(readFileSync(file.path), { columns: true }) as { text: string }[];
    const texts = [...new Set(rows.map((row) => row.text))];
    const sides = builds<Featurizer>(HashedFeaturizer, 'src/models/tokenizers/hashed-ngrams.js', 'HashedFeaturizer');
    console.log(`HashedFeaturizer.pack (the sentiment model's options) over ${texts.length.toLocaleString('en-US')} distinct texts in runs of ${RUN}; ms per pass, ${ROUNDS} rounds`);
    const checksums = new Set<number>();
    alternate(sides, ROUNDS, (Featurizer) => {
      const { ms, checksum } = timePack(Featurizer, tokenizer, texts);
      checksums.add(checksum);
      return ms;
    });
    if (checksums.size !== 1) throw new Error('the two checkouts packed different features');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
