import path from 'node:path';
import type { PeerSettings } from './celery-peer';

/** Knobs of one benchmark run, read from the environment (see bench/README.md). */
export interface BenchSettings {
  /** `SIFT_MODELS_DIR` (default ./models), as an absolute path; also given to the API. */
  modelsDir: string;
  /** `BENCH_MODEL`, else `SIFT_DEFAULT_MODEL`, else `sentiment`; also the API's default model. */
  model: string;
  /** `BENCH_SECONDS`: timed length of each HTTP scenario, over all rounds. Default 10. */
  httpSeconds: number;
  /**
   * `BENCH_ROUNDS`: the scenarios run this many times in turn, `BENCH_SECONDS / BENCH_ROUNDS`
   * each, and report medians. Interleaving keeps a burst of other work on the shared cores from
   * landing on one scenario only and skewing the ratios between them. Default 5.
   */
  rounds: number;
  /** `BENCH_WARMUP_SECONDS`: untimed load of each HTTP scenario, all before the first round. Default 2. */
  httpWarmupSeconds: number;
  /** `BENCH_MODEL_SECONDS`: timed length of each in-process run size. Default 2. */
  modelSeconds: number;
  /** `BENCH_CONNECTIONS`: concurrent HTTP connections (pipelining 1). Default 24. */
  connections: number;
  /** `BENCH_MANY_TEXTS`: texts in one `predictMany` request. Default 100. */
  manyTexts: number;
  /**
   * `BENCH_LOAD_WORKERS`: 0 runs autocannon on the bench's main thread (default), N > 0 in N
   * autocannon worker threads. The bench process is already separate from the API's, and its
   * main thread is idle during the HTTP runs, so workers only add per-response messages.
   */
  loadWorkers: number;
  /** Batch sizes of the in-process measurement. */
  runSizes: number[];
  /**
   * `BENCH_PARTS`: which sections run, comma-separated: `online`, `auth`, `batch`, `file`,
   * `fanout`, `footprint`, `faults`. Default: DEFAULT_PARTS.
   */
  parts: Record<BenchPart, boolean>;
  /** `BENCH_BATCH_ROWS`: rows of the end-to-end batch file. Default 200000. */
  batchRows: number;
  /** `BENCH_BATCH_ROUNDS`: runs of each worker count, alternating; medians are reported. Default 5. */
  batchRounds: number;
  /** `BENCH_FILE_ROWS`: rows of the file `sift batch IN OUT` labels in the file-to-file section. Default 200000. */
  fileRows: number;
  /** `BENCH_FILE_ROUNDS`: rounds of the file-to-file section (Sift with 1 and 2 workers, the peer), order reversing each round. Default 5. */
  fileRounds: number;
  /** `BENCH_FILE_MEMORY_ROWS`: rows of the file the file section's memory run labels (the CLI's and the API's peak RSS); 0 leaves it out. Default 1000000. */
  fileMemoryRows: number;
  /**
   * `BENCH_FILE_WARMUP_ROWS`: rows of the untimed file (other texts) each side of the file section
   * labels first. Default: `BENCH_FILE_ROWS`. With 20,000, the first timed round was the slowest
   * of Sift's in every run (see bench/README.md).
   */
  fileWarmUpRows: number;
  /**
   * The Celery peer of the file-to-file section, or null with `BENCH_PEER=off` (default `auto`:
   * it runs when its Python packages are installed). `BENCH_PEER_DIR` (default
   * ../shared/peers/celery from the project's root) and `PEER_MODEL` (default
   * /tmp/sift-peer-model.pkl, as the peer's run.sh) say where it and its model are.
   */
  peer: PeerSettings | null;
  /** `BENCH_UPLOAD_ROWS`: rows of the file whose upload measures the API's memory. Default 1000000. */
  uploadRows: number;
  /** `BENCH_FANOUT_ROWS`: rows of the batch the fan-out subscribers watch. Default 100000. */
  fanoutRows: number;
  /** `BENCH_FANOUT_SUBSCRIBERS`: counts-only subscriber numbers to run, comma-separated. Default 100,1000. */
  fanoutSubscribers: number[];
  /**
   * `BENCH_FANOUT_ROW_SUBSCRIBERS`: numbers of subscribers that also select `rows { index }`,
   * comma-separated, or `none`. Default 100: 1,000 of them would be 100 million rows through
   * graphql-js and JSON on one API process (see bench/README.md).
   */
  fanoutRowSubscribers: number[];
  /** `BENCH_FANOUT_GRACE_SECONDS`: how long after the batch's end a fan-out run waits for every subscription to end. Default 30. */
  fanoutGraceSeconds: number;
  /** `BENCH_FOOTPRINT_ROWS`: rows of the upload whose Redis footprint is measured. Default 100000. */
  footprintRows: number;
  /** `BENCH_FAULT_ROWS`: rows of the batch the faults section labels, with and without each fault. Default 100000. */
  faultRows: number;
  /** Rows of the big batch in the fairness section (BENCH_FAIRNESS_ROWS). */
  fairnessRows: number;
  /** `BENCH_FAULT_REDIS_DOWN_SECONDS`: how long the faults section keeps its Redis shut down. Default 3. */
  faultRedisDownSeconds: number;
}

/** The sections of a run, in the order they run. */
export const BENCH_PARTS = ['online', 'auth', 'batch', 'file', 'fairness', 'fanout', 'footprint', 'faults'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

/**
 * The sections a run without BENCH_PARTS runs. `faults` is asked for by name: it kills processes
 * and restarts a Redis on purpose, and adds two to three minutes. So is `file`: five and a half
 * minutes (three times five 200,000-row runs with the peer, 5m37s on 2026-12-03), on top of a
 * default run of five to seven, and its labelling is the batch section's own 1- and 2-worker
 * runs again, seen from the CLI; it is what the CLI's and the pipeline's speed work is measured
 * with.
 */
export const DEFAULT_PARTS: readonly BenchPart[] = ['online', 'auth', 'batch', 'fairness', 'fanout', 'footprint'];

function parts(raw: string | undefined): BenchSettings['parts'] {
  const names = (raw?.trim() || DEFAULT_PARTS.join(',')).split(',').map((p) => p.trim());
  const unknown = names.find((name) => !(BENCH_PARTS as readonly string[]).includes(name));
  if (unknown !== undefined || names.length === 0) {
    throw new Error(`BENCH_PARTS=${JSON.stringify(raw)} is not valid: expected some of ${BENCH_PARTS.join(', ')}, comma-separated (default ${DEFAULT_PARTS.join(',')}).`);
  }
  return Object.fromEntries(BENCH_PARTS.map((part) => [part, names.includes(part)])) as BenchSettings['parts'];
}

/** A comma-separated list of whole numbers from `min` to `max`; `none` for an empty list. */
function peer(cwd: string): PeerSettings | null {
  const raw = process.env.BENCH_PEER?.trim() || 'auto';
  if (raw !== 'auto' && raw !== 'off') throw new Error(`BENCH_PEER=${JSON.stringify(process.env.BENCH_PEER)} is not valid: expected auto or off (default auto).`);
  if (raw === 'off') return null;
  const dir = path.resolve(cwd, process.env.BENCH_PEER_DIR?.trim() || '../shared/peers/celery');
  return {
    dir,
    model: process.env.PEER_MODEL?.trim() || '/tmp/sift-peer-model.pkl',
    trainCsv: path.resolve(dir, '../../datasets/sst2/train.csv'),
    // The peer is Debian's Python with Debian's packages (its run.sh says /usr/bin/python3 too).
    python: '/usr/bin/python3',
    workers: 2,
  };
}

function integers(name: string, fallback: number[], min: number, max: number): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (raw.trim() === 'none') return [];
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value < min || value > max)) {
    throw new Error(`${name}=${JSON.stringify(raw)} is not valid: expected whole numbers from ${min} to ${max}, comma-separated, or none (default ${fallback.join(',') || 'none'}).`);
  }
  return values;
}

function integer(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name}=${JSON.stringify(raw)} is not valid: expected a number from ${min} to ${max} (default ${fallback}).`);
  }
  return value;
}

/** Reads and checks the settings; throws naming the variable on a bad value. */
export function readSettings(cwd: string = process.cwd()): BenchSettings {
  const env = process.env;
  const fileRows = Math.round(integer('BENCH_FILE_ROWS', 200_000, 1000, 10_000_000));
  return {
    modelsDir: path.resolve(cwd, env.SIFT_MODELS_DIR?.trim() || './models'),
    model: env.BENCH_MODEL?.trim() || env.SIFT_DEFAULT_MODEL?.trim() || 'sentiment',
    httpSeconds: integer('BENCH_SECONDS', 10, 1, 120),
    rounds: Math.round(integer('BENCH_ROUNDS', 5, 1, 20)),
    httpWarmupSeconds: integer('BENCH_WARMUP_SECONDS', 2, 0, 30),
    modelSeconds: integer('BENCH_MODEL_SECONDS', 2, 0.2, 30),
    connections: Math.round(integer('BENCH_CONNECTIONS', 24, 1, 512)),
    manyTexts: Math.round(integer('BENCH_MANY_TEXTS', 100, 1, 1000)),
    loadWorkers: Math.round(integer('BENCH_LOAD_WORKERS', 0, 0, 8)),
    runSizes: [1, 32, 256],
    parts: parts(env.BENCH_PARTS),
    batchRows: Math.round(integer('BENCH_BATCH_ROWS', 200_000, 1000, 10_000_000)),
    batchRounds: Math.round(integer('BENCH_BATCH_ROUNDS', 5, 1, 9)),
    fileRows,
    fileRounds: Math.round(integer('BENCH_FILE_ROUNDS', 5, 1, 9)),
    fileMemoryRows: Math.round(integer('BENCH_FILE_MEMORY_ROWS', 1_000_000, 0, 10_000_000)),
    fileWarmUpRows: Math.round(integer('BENCH_FILE_WARMUP_ROWS', fileRows, 1000, 10_000_000)),
    peer: peer(cwd),
    uploadRows: Math.round(integer('BENCH_UPLOAD_ROWS', 1_000_000, 1000, 20_000_000)),
    fanoutRows: Math.round(integer('BENCH_FANOUT_ROWS', 100_000, 1000, 10_000_000)),
    fanoutSubscribers: integers('BENCH_FANOUT_SUBSCRIBERS', [100, 1000], 1, 10_000),
    fanoutRowSubscribers: integers('BENCH_FANOUT_ROW_SUBSCRIBERS', [100], 1, 10_000),
    fanoutGraceSeconds: integer('BENCH_FANOUT_GRACE_SECONDS', 30, 1, 600),
    footprintRows: Math.round(integer('BENCH_FOOTPRINT_ROWS', 100_000, 1000, 10_000_000)),
    faultRows: Math.round(integer('BENCH_FAULT_ROWS', 100_000, 10_000, 10_000_000)),
    fairnessRows: Math.round(integer('BENCH_FAIRNESS_ROWS', 200_000, 10_000, 10_000_000)),
    faultRedisDownSeconds: integer('BENCH_FAULT_REDIS_DOWN_SECONDS', 3, 0.5, 60),
  };
}

/**
 * Node options for one kind of the bench's child processes, from `variable` (BENCH_API_NODE_ARGS,
 * BENCH_WORKER_NODE_ARGS, BENCH_CLI_NODE_ARGS), e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": given
 * on the command line, since --cpu-prof is not allowed in NODE_OPTIONS, which every child inherits.
 */
export function childNodeArgs(variable: string): string[] {
  return process.env[variable]?.trim().split(/\s+/).filter(Boolean) ?? [];
}
