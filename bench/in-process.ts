import { performance } from 'node:perf_hooks';
import { readModelDefinition } from '../src/models/manifest';
import { ModelRunner } from '../src/models/model-runner';
import { benchTexts } from './texts';

/** Rows per second of one model at one batch size, on this thread. */
export interface ModelThroughput {
  runSize: number;
  rowsPerSecond: number;
  /** Model runs timed (after the warm-up). */
  runs: number;
  /** Mean wall time of one `score` call (tokenize + infer + softmax), in ms. */
  msPerRun: number;
}

/** What `measureModel` found, and about which model. */
export interface InProcessResult {
  model: string;
  version: string;
  dir: string;
  intraOpThreads: number;
  secondsPerRunSize: number;
  results: ModelThroughput[];
}

// Texts cycled through in-process. Distinct from the HTTP scenarios' index ranges (they start at
// 1e6), and large enough that a run of 256 sees 64 different runs.
const POOL_SIZE = 1 << 14;

async function timeLoop(runner: ModelRunner, pool: readonly string[], runSize: number, seconds: number): Promise<{ runs: number; elapsedMs: number }> {
  let offset = 0;
  let runs = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let now = start;
  while (now < deadline) {
    if (offset + runSize > pool.length) offset = 0;
    await runner.score(pool.slice(offset, offset + runSize));
    offset += runSize;
    runs++;
    now = performance.now();
  }
  return { runs, elapsedMs: now - start };
}

/**
 * Tokenize + infer throughput of the model in `dir` on the calling thread (one ONNX intra-op
 * thread, like each API inference thread), at each batch size: a warm-up so JIT and ONNX
 * allocations settle, then a timed loop of whole batches for `seconds`.
 */
export async function measureModel(dir: string, runSizes: readonly number[], seconds: number, warmupSeconds: number): Promise<InProcessResult> {
  const definition = await readModelDefinition(dir);
  const intraOpThreads = 1;
  const runner = await ModelRunner.load(definition, { intraOpThreads });
  const pool = benchTexts(0, POOL_SIZE);
  try {
    const results: ModelThroughput[] = [];
    for (const runSize of runSizes) {
      await timeLoop(runner, pool, runSize, warmupSeconds);
      const { runs, elapsedMs } = await timeLoop(runner, pool, runSize, seconds);
      results.push({ runSize, rowsPerSecond: (runs * runSize) / (elapsedMs / 1000), runs, msPerRun: elapsedMs / runs });
    }
    return { model: definition.name, version: definition.version, dir, intraOpThreads, secondsPerRunSize: seconds, results };
  } finally {
    await runner.close();
  }
}
