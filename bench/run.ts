/**
 * `npm run bench`: measures the default model in-process, then the API over HTTP (as a child
 * process on loopback), prints a table with target checks and writes JSON to bench/results/.
 * Exits 1 when any HTTP response failed or the run broke; targets only print PASS/FAIL.
 */
import 'reflect-metadata';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startApiProcess, type ApiProcess } from './api-process';
import { runBatchSection, type BatchBenchResult } from './batch-runs';
import { measureModel } from './in-process';
import { failureCount } from './http-load';
import { formatReport, writeReport, type BenchReport } from './report';
import { runScenarios } from './scenarios';
import { readSettings } from './settings';
import { checkBatchTargets, checkTargets } from './targets';

// dist/bench/run.js -> the project root, where models/ and bench/results/ live.
const ROOT = path.resolve(__dirname, '..', '..');

let api: ApiProcess | undefined;

async function main(): Promise<number> {
  const startedAt = new Date().toISOString();
  const settings = readSettings(ROOT);
  const modelDir = path.join(settings.modelsDir, settings.model);
  if (!existsSync(modelDir)) throw new Error(`no model folder ${modelDir}; set SIFT_MODELS_DIR or BENCH_MODEL`);

  // Watchdog: everything below is bounded, but a wedged API must not hold the run forever.
  const roundSeconds = Math.max(1, settings.httpSeconds / settings.rounds);
  const onlineSeconds = settings.parts.online ? 4 * (settings.httpWarmupSeconds + settings.rounds * (roundSeconds + 2)) : 0;
  // Generous: 2,000 rows/s end to end is far below what a healthy run does.
  const batchSeconds = settings.parts.batch ? 60 + (3 * settings.batchRows + settings.uploadRows) / 2000 : 0;
  const budgetSeconds = 90 + settings.batchSizes.length * (settings.modelSeconds + 1) + onlineSeconds + batchSeconds;
  setTimeout(() => void abort(`the run took longer than ${budgetSeconds} s`), budgetSeconds * 1000).unref();

  // Before the API starts, so the model has the machine to itself.
  process.stderr.write(`bench: in-process ${settings.model}, batch ${settings.batchSizes.join('/')}, ${settings.modelSeconds} s each\n`);
  const inProcess = await measureModel(modelDir, settings.batchSizes, settings.modelSeconds, Math.min(1, settings.modelSeconds / 2));

  process.stderr.write('bench: starting the API child process\n');
  api = await startApiProcess(settings.modelsDir, settings.model, ROOT);
  const redis = new Redis(api.settings.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  let http: Awaited<ReturnType<typeof runScenarios>> = [];
  let batch: BatchBenchResult | undefined;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'sift-bench-'));
  try {
    if (settings.parts.online) {
      process.stderr.write(`bench: HTTP scenarios at ${api.url}, ${settings.rounds} rounds of ${roundSeconds} s each after ${settings.httpWarmupSeconds} s warm-up each\n`);
      http = await runScenarios({
        url: api.url,
        apiPid: api.pid,
        redis,
        seconds: roundSeconds,
        rounds: settings.rounds,
        warmupSeconds: settings.httpWarmupSeconds,
        connections: settings.connections,
        workers: settings.loadWorkers,
        manyTexts: settings.manyTexts,
      });
    }
    if (settings.parts.batch) {
      const workerEnv = { ...process.env, REDIS_URL: api.settings.redisUrl, SIFT_KEY_PREFIX: api.keyPrefix, SIFT_MODELS_DIR: settings.modelsDir, SIFT_DEFAULT_MODEL: settings.model };
      const context = { url: api.url, apiPid: api.pid, projectRoot: ROOT, redisUrl: api.settings.redisUrl, keyPrefix: api.keyPrefix, workerEnv };
      batch = await runBatchSection(context, settings.batchRows, settings.uploadRows, tmp, (line) => process.stderr.write(`${line}\n`));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    redis.disconnect();
    const { deletedKeys } = await api.stop();
    process.stderr.write(`bench: API stopped, ${deletedKeys} keys under ${api.keyPrefix} deleted\n`);
  }

  const failures = http.reduce((sum, s) => sum + failureCount(s), 0);
  const cpus = os.cpus();
  const report: BenchReport = {
    startedAt,
    machine: { cpus: cpus.length, cpuModel: cpus[0]?.model.trim() ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.arch()}` },
    settings: {
      model: `${inProcess.model}@${inProcess.version}`,
      seconds: `${settings.rounds}x${roundSeconds}`,
      warmup: settings.httpWarmupSeconds,
      connections: settings.connections,
      pipelining: 1,
      loadGenerator: settings.loadWorkers === 0 ? 'bench main thread' : `${settings.loadWorkers} worker threads`,
      manyTexts: settings.manyTexts,
      SIFT_INFERENCE_THREADS: api.settings.inferenceThreads,
      SIFT_MAX_BATCH_SIZE: api.settings.maxBatchSize,
      SIFT_BATCH_WINDOW_MS: api.settings.batchWindowMs,
    },
    inProcess,
    http,
    batch,
    targets: [...checkTargets(inProcess, http), ...(batch ? checkBatchTargets(inProcess, batch) : [])],
    failures,
  };
  const file = await writeReport(report, path.join(ROOT, 'bench', 'results'));
  process.stdout.write(`${formatReport(report)}\n\nJSON: ${path.relative(ROOT, file)} (and bench/results/latest.json)\n`);
  return failures > 0 ? 1 : 0;
}

/** Stops the API child (and cleans its keys) before leaving on an error or signal. */
async function abort(reason: string, code = 1): Promise<never> {
  process.stderr.write(`bench: ${reason}\n`);
  await api?.stop().catch((error: Error) => process.stderr.write(`bench: clean-up failed: ${error.message}\n`));
  process.exit(code);
}

process.once('SIGINT', () => void abort('interrupted', 130));
process.once('SIGTERM', () => void abort('terminated', 143));

main().then(
  (code) => process.exit(code),
  (error: Error) => abort(error.stack ?? error.message),
);
