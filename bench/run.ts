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
import { loadConfig } from '../src/config/config';
import { startApiProcess, type ApiProcess } from './api-process';
import { authFailures, runAuthCost, type AuthResult } from './auth-cost';
import { batchContext, runBatchSection, type BatchBenchContext, type BatchBenchResult } from './batch-runs';
import { Cleanup } from './cleanup';
import { runFairnessSection, type FairnessResult } from './fairness';
import { fanoutPlans, runFanoutSection, type FanoutResult } from './fanout';
import { runFileSection, type FileResult } from './file-section';
import { runFaults, type FaultsResult } from './faults';
import { runFootprint, type FootprintResult } from './footprint';
import { measureModel } from './in-process';
import { metricsCostFailures, runMetricsCost, type MetricsCostResult } from './metrics-cost';
import { failureCount } from './http-load';
import { formatReport, writeReport, type BenchReport } from './report';
import { runScenarios } from './scenarios';
import { readSettings, type BenchSettings } from './settings';
import { checkAuthTargets, checkBatchTargets, checkFairnessTargets, checkFanoutTargets, checkFileTargets, checkMetricsCostTargets, checkTargets } from './targets';

// dist/bench/run.js -> the project root, where models/ and bench/results/ live.
const ROOT = path.resolve(__dirname, '..', '..');

/** API children up now (stopped, and their keys cleaned, on an abort). */
const apis = new Set<ApiProcess>();
/** Child processes the sections started (workers, clients, a private Redis), stopped on an abort. */
const cleanup = new Cleanup();

async function main(): Promise<number> {
  const startedAt = new Date().toISOString();
  const settings = readSettings(ROOT);
  const modelDir = path.join(settings.modelsDir, settings.model);
  if (!existsSync(modelDir)) throw new Error(`no model folder ${modelDir}; set SIFT_MODELS_DIR or BENCH_MODEL`);

  // Watchdog: everything below is bounded, but a wedged API must not hold the run forever.
  const roundSeconds = Math.max(1, settings.httpSeconds / settings.rounds);
  // The four scenarios, then the metrics on/off pairing: two API starts, 2 scenarios x 2 sides of warm-up and of every round.
  const onlineSeconds = settings.parts.online ? 4 * (settings.httpWarmupSeconds + settings.rounds * (roundSeconds + 2)) + 90 + 4 * (settings.httpWarmupSeconds + settings.rounds * (roundSeconds + 1)) : 0;
  // Generous: 2,000 rows/s end to end is far below what a healthy run does.
  const batchSeconds = settings.parts.batch ? 60 + (2 * settings.batchRounds * settings.batchRows + settings.uploadRows) / 2000 : 0;
  // Two API and three worker starts, three warm-up runs (BENCH_FILE_WARMUP_ROWS), the peer's model trained once (a minute or two), then 3 runs a round at a generous 2,000 rows/s.
  const fileSeconds = settings.parts.file ? 300 + settings.fileRounds * 3 * (30 + settings.fileRows / 2000) + 3 * (30 + settings.fileWarmUpRows / 2000) : 0;
  const plans = fanoutPlans(settings.fanoutSubscribers, settings.fanoutRowSubscribers);
  // Per run: an API start, the upload, subscribing (50 at a time), the batch, then the grace period at most.
  const fanoutSeconds = settings.parts.fanout ? plans.reduce((sum, p) => sum + 120 + p.subscribers / 20 + settings.fanoutRows / 2000 + settings.fanoutGraceSeconds, 0) : 0;
  // Three API and worker starts; the big batch cancelled twice early, then whole with two tenths more at 2,000 rows/s.
  const fairnessSeconds = settings.parts.fairness ? 120 + (1.4 * settings.fairnessRows) / 2000 : 0;
  const footprintSeconds = settings.parts.footprint ? 90 + settings.footprintRows / 1000 : 0;
  // Two API starts, then 2 scenarios x 2 sides of warm-up and of every round.
  const authSeconds = settings.parts.auth ? 90 + 4 * (settings.httpWarmupSeconds + settings.rounds * (roundSeconds + 1)) : 0;
  // Six batches of the file at a generous 2,000 rows/s, API and worker starts, two Redis outages, the slow upload.
  const faultsSeconds = settings.parts.faults ? 300 + (6 * settings.faultRows) / 2000 + 2 * settings.faultRedisDownSeconds : 0;
  const inProcessSeconds = settings.parts.online || settings.parts.batch ? settings.runSizes.length * (settings.modelSeconds + 1) : 0;
  const budgetSeconds = 90 + inProcessSeconds + onlineSeconds + authSeconds + batchSeconds + fileSeconds + fairnessSeconds + fanoutSeconds + footprintSeconds + faultsSeconds;
  setTimeout(() => void abort(`the run took longer than ${budgetSeconds} s`), budgetSeconds * 1000).unref();

  // Before the API starts, so the model has the machine to itself; only the online and batch
  // targets use it.
  let inProcess: Awaited<ReturnType<typeof measureModel>> | undefined;
  if (settings.parts.online || settings.parts.batch) {
    process.stderr.write(`bench: in-process ${settings.model}, runs of ${settings.runSizes.join('/')}, ${settings.modelSeconds} s each\n`);
    inProcess = await measureModel(modelDir, settings.runSizes, settings.modelSeconds, Math.min(1, settings.modelSeconds / 2));
  }

  let http: Awaited<ReturnType<typeof runScenarios>> = [];
  let batch: BatchBenchResult | undefined;
  let fileToFile: FileResult | undefined;
  let fanout: FanoutResult | undefined;
  let fairness: FairnessResult | undefined;
  let footprint: FootprintResult | undefined;
  let auth: AuthResult | undefined;
  let metricsCost: MetricsCostResult | undefined;
  let faults: FaultsResult | undefined;
  // Each section gets an API process of its own, so the batch figures (its memory above all) do
  // not carry what the online load left behind.
  let apiSettings: ApiProcess['settings'] | undefined;
  let workerSettings: { SIFT_WORKER_CONCURRENCY: number; SIFT_WORKER_INFERENCE_THREADS: number; SIFT_WORKER_MAX_RUN_SIZE: number | string } | undefined;
  if (settings.parts.online) {
    apiSettings = await withApi(settings, async (started) => {
      const redis = new Redis(started.settings.redisUrl, { maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      try {
        process.stderr.write(`bench: HTTP scenarios at ${started.url}, ${settings.rounds} rounds of ${roundSeconds} s each after ${settings.httpWarmupSeconds} s warm-up each\n`);
        http = await runScenarios({
          url: started.url,
          apiPid: started.pid,
          eventLoop: started.eventLoop,
          redis,
          seconds: roundSeconds,
          rounds: settings.rounds,
          warmupSeconds: settings.httpWarmupSeconds,
          connections: settings.connections,
          workers: settings.loadWorkers,
          manyTexts: settings.manyTexts,
        });
      } finally {
        redis.disconnect();
      }
    });
    metricsCost = await runMetricsCostSection(settings, roundSeconds);
  }
  if (settings.parts.auth) {
    // Two API children at once (auth off, auth on), each stopped and its keys deleted at the end.
    const started: ApiProcess[] = [];
    const forget: (() => void)[] = [];
    try {
      auth = await runAuthCost({
        startApi: async (extraEnv) => {
          process.stderr.write(`bench: starting an API child process (SIFT_AUTH=${extraEnv.SIFT_AUTH})\n`);
          const child = await startApiProcess(settings.modelsDir, settings.model, ROOT, extraEnv);
          started.push(child);
          forget.push(cleanup.add(() => child.stop()));
          apiSettings = child.settings;
          return child;
        },
        seconds: roundSeconds,
        rounds: settings.rounds,
        warmupSeconds: settings.httpWarmupSeconds,
        connections: settings.connections,
        log,
      });
    } finally {
      for (const child of started) {
        const { deletedKeys } = await child.stop();
        process.stderr.write(`bench: API stopped, ${deletedKeys} keys under ${child.keyPrefix} deleted\n`);
      }
      for (const unregister of forget) unregister();
    }
  }
  // The batch and file sections: an API child, a scratch folder, and the workers' settings for the report.
  const withBatchApi = (run: (context: BatchBenchContext, tmp: string) => Promise<void>) =>
    withApi(settings, async (started) => {
      const tmp = mkdtempSync(path.join(os.tmpdir(), 'sift-bench-'));
      try {
        const context = contextOf(settings, started);
        const workerConfig = loadConfig(context.workerEnv, ROOT);
        workerSettings = {
          SIFT_WORKER_CONCURRENCY: workerConfig.workerConcurrency,
          SIFT_WORKER_INFERENCE_THREADS: workerConfig.workerInferenceThreads,
          // Unset: each model's own (models/run-size.ts).
          SIFT_WORKER_MAX_RUN_SIZE: workerConfig.workerMaxRunSize ?? 'per-model',
        };
        await run(context, tmp);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  if (settings.parts.batch) {
    apiSettings = await withBatchApi(async (context, tmp) => {
      batch = await runBatchSection(context, settings.batchRows, settings.uploadRows, settings.batchRounds, tmp, log);
    });
  }
  if (settings.parts.file) {
    // An API for each worker count: workers stay up across rounds, and each takes its queue's chunks.
    apiSettings = await withBatchApi(async (one, tmp) => {
      await withApi(settings, async (started) => {
        const contexts = { one, two: contextOf(settings, started) };
        fileToFile = await runFileSection({ rows: settings.fileRows, rounds: settings.fileRounds, memoryRows: settings.fileMemoryRows, warmUpRows: settings.fileWarmUpRows, peer: settings.peer, contexts, cleanup, dir: tmp, log });
      });
    });
  }
  if (settings.parts.fairness) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'sift-bench-'));
    try {
      fairness = await runFairnessSection({
        bigRows: settings.fairnessRows,
        dir: tmp,
        cleanup,
        log,
        withApi: async (env, run) => {
          apiSettings = await withApi(settings, (started) => run(contextOf(settings, started, env)), env);
        },
      });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  if (settings.parts.fanout) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'sift-bench-'));
    try {
      const notRun = settings.fanoutRowSubscribers.some((count) => count >= 1000)
        ? []
        : ['rows x1000 (1,000 subscribers each selecting every row: 100 million rows through graphql-js and JSON on one API process; set BENCH_FANOUT_ROW_SUBSCRIBERS=1000 to try it)'];
      fanout = await runFanoutSection({
        rows: settings.fanoutRows,
        plans,
        graceSeconds: settings.fanoutGraceSeconds,
        dir: tmp,
        cleanup,
        notRun,
        log,
        // A fresh API for each run, so one run's heap does not count in the next one's RSS.
        withApi: async (run) => {
          apiSettings = await withApi(settings, (started) => run(contextOf(settings, started)));
        },
      });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  if (settings.parts.footprint) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'sift-bench-'));
    try {
      footprint = await runFootprint({ rows: settings.footprintRows, modelsDir: settings.modelsDir, model: settings.model, projectRoot: ROOT, dir: tmp, cleanup, log });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  if (settings.parts.faults) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'sift-bench-'));
    try {
      faults = await runFaults({ rows: settings.faultRows, redisDownSeconds: settings.faultRedisDownSeconds, modelsDir: settings.modelsDir, model: settings.model, projectRoot: ROOT, dir: tmp, cleanup, log });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  const failures = http.reduce((sum, s) => sum + failureCount(s), 0) + (auth ? authFailures(auth) : 0) + (metricsCost ? metricsCostFailures(metricsCost) : 0);
  const cpus = os.cpus();
  const report: BenchReport = {
    startedAt,
    machine: { cpus: cpus.length, cpuModel: cpus[0]?.model.trim() ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.arch()}` },
    settings: {
      model: inProcess ? `${inProcess.model}@${inProcess.version}` : settings.model,
      parts: Object.entries(settings.parts).filter(([, on]) => on).map(([part]) => part).join(','),
      ...((settings.parts.online || settings.parts.auth) && {
        seconds: `${settings.rounds}x${roundSeconds}`,
        warmup: settings.httpWarmupSeconds,
        connections: settings.connections,
        pipelining: 1,
      }),
      ...(settings.parts.online && {
        loadGenerator: settings.loadWorkers === 0 ? 'bench main thread' : `${settings.loadWorkers} worker threads`,
        manyTexts: settings.manyTexts,
      }),
      ...(settings.parts.fanout && {
        fanoutRows: settings.fanoutRows,
        fanoutSubscribers: settings.fanoutSubscribers.join('/') || 'none',
        fanoutRowSubscribers: settings.fanoutRowSubscribers.join('/') || 'none',
        fanoutGrace: settings.fanoutGraceSeconds,
      }),
      ...(settings.parts.file && { fileRows: settings.fileRows, fileRounds: settings.fileRounds }),
      ...(settings.parts.fairness && { fairnessRows: settings.fairnessRows }),
      ...(settings.parts.footprint && { footprintRows: settings.footprintRows }),
      ...(settings.parts.faults && { faultRows: settings.faultRows, faultRedisDown: settings.faultRedisDownSeconds }),
      ...(apiSettings && {
        SIFT_INFERENCE_THREADS: apiSettings.inferenceThreads,
        SIFT_MAX_RUN_SIZE: apiSettings.maxRunSize,
        SIFT_RUN_WINDOW_MS: apiSettings.runWindowMs,
      }),
      ...workerSettings,
    },
    inProcess,
    http,
    batch,
    fileToFile,
    fairness,
    fanout,
    footprint,
    auth,
    metricsCost,
    faults,
    targets: [
      ...(inProcess ? checkTargets(inProcess, http) : []),
      ...(inProcess && batch ? checkBatchTargets(inProcess, batch) : []),
      ...(fileToFile ? checkFileTargets(fileToFile) : []),
      ...(fairness ? checkFairnessTargets(fairness) : []),
      ...(fanout ? checkFanoutTargets(fanout) : []),
      ...(auth ? checkAuthTargets(auth) : []),
      ...(metricsCost ? checkMetricsCostTargets(metricsCost) : []),
    ],
    failures,
  };
  const file = await writeReport(report, path.join(ROOT, 'bench', 'results'));
  process.stdout.write(`${formatReport(report)}\n\nJSON: ${path.relative(ROOT, file)} (and bench/results/latest.json)\n`);
  return failures > 0 ? 1 : 0;
}

/** Runs `section` against a fresh API child process (with `env` added), then stops it and deletes its keys; returns the settings the child read. */
async function withApi(settings: BenchSettings, section: (started: ApiProcess) => Promise<void>, env: NodeJS.ProcessEnv = {}): Promise<ApiProcess['settings']> {
  process.stderr.write(`bench: starting an API child process${Object.keys(env).length > 0 ? ` (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}\n`);
  const api = await startApiProcess(settings.modelsDir, settings.model, ROOT, env);
  apis.add(api);
  try {
    await section(api);
    return api.settings;
  } finally {
    // Out of `apis` only once stopped: an abort meanwhile stops it again (stop is idempotent) and waits for its keys to go.
    const { deletedKeys } = await api.stop();
    apis.delete(api);
    process.stderr.write(`bench: API stopped, ${deletedKeys} keys under ${api.keyPrefix} deleted\n`);
  }
}

/**
 * The online section's pairing: predict on an API with metrics and JSON logs on against one with
 * them off, both children alive at once, each stopped and its keys deleted at the end; the on
 * side's log lines go to a file (kept only for the count), not to this terminal.
 */
async function runMetricsCostSection(settings: BenchSettings, roundSeconds: number): Promise<MetricsCostResult> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'sift-bench-logs-'));
  const started: ApiProcess[] = [];
  const forget: (() => void)[] = [];
  try {
    return await runMetricsCost({
      startApi: async (extraEnv, logFile) => {
        process.stderr.write(`bench: starting an API child process (SIFT_METRICS=${extraEnv.SIFT_METRICS}, SIFT_LOG_LEVEL=${extraEnv.SIFT_LOG_LEVEL}; output to ${logFile})\n`);
        const child = await startApiProcess(settings.modelsDir, settings.model, ROOT, extraEnv, logFile);
        started.push(child);
        forget.push(cleanup.add(() => child.stop()));
        return child;
      },
      logFiles: { on: path.join(tmp, 'on.log'), off: path.join(tmp, 'off.log') },
      seconds: roundSeconds,
      rounds: settings.rounds,
      warmupSeconds: settings.httpWarmupSeconds,
      connections: settings.connections,
      log,
    });
  } finally {
    for (const child of started) {
      const { deletedKeys } = await child.stop();
      process.stderr.write(`bench: API stopped, ${deletedKeys} keys under ${child.keyPrefix} deleted\n`);
    }
    for (const unregister of forget) unregister();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Where a section's workers find the API's Redis and keys, and the models (and `env`, what the API was started with). */
/** The batch sections' context for an API child of this checkout, with the bench's model. */
function contextOf(settings: BenchSettings, started: ApiProcess, env: NodeJS.ProcessEnv = {}): BatchBenchContext {
  return batchContext(started, settings.modelsDir, settings.model, ROOT, env);
}

/** Stops the children the sections started and the API child (and cleans its keys) before leaving on an error or signal. */
async function abort(reason: string, code = 1): Promise<never> {
  process.stderr.write(`bench: ${reason}\n`);
  await cleanup.runAll();
  for (const api of apis) await api.stop().catch((error: Error) => process.stderr.write(`bench: clean-up failed: ${error.message}\n`));
  process.exit(code);
}

process.once('SIGINT', () => void abort('interrupted', 130));
process.once('SIGTERM', () => void abort('terminated', 143));

main().then(
  (code) => process.exit(code),
  (error: Error) => abort(error.stack ?? error.message),
);
