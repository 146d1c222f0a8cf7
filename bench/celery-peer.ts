import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { BatchFile } from './batch-files';
import type { Cleanup } from './cleanup';
import { procSeconds, redisSeconds } from './cpu';
import { CpuTimeline } from './cpu-timeline';
import { runTimedClient } from './timed-client';
import { labelledRowsOf } from './output-rows';

/**
 * The Celery peer of ../shared/peers/celery (its README): the same file labelled by a Python
 * pipeline a competent team would write (Celery chunked tasks, scikit-learn, a Redis cache keyed by
 * SHA-256 of the text), 2 prefork worker processes. The bench runs its own pieces as run.sh does,
 * but keeps the Celery worker up across rounds (warmed once, as Sift's API is) and runs the
 * client once a round, each from a cold cache (client.py flushes its Redis db first).
 */

/** Where the peer's code is and what it needs; from the bench's settings. */
export interface PeerSettings {
  /** The peer's folder (client.py, tasks.py, train.py). */
  dir: string;
  /** Its trained model (`PEER_MODEL`, as run.sh), trained at first use from `trainCsv`. */
  model: string;
  trainCsv: string;
  python: string;
  workers: number;
}

/** The Redis the peer's code uses, fixed in its tasks.py: db 9 on the default port, flushed by every run. */
export const PEER_REDIS = { host: '127.0.0.1', port: 6379, db: 9 } as const;

/** The processes whose CPU a peer run reports. */
export const PEER_PARTIES = ['client', 'workers', 'redis'] as const;
export type PeerParty = (typeof PEER_PARTIES)[number];

/** One peer run: client.py chunked on the file, cold cache. */
export interface PeerFileRun {
  round: number;
  workers: number;
  rows: number;
  /** From spawning client.py until it exited (Python's start and imports included, as Sift's Node start is). */
  seconds: number;
  rowsPerSecond: number;
  /** What client.py printed: from after its imports and flush until its output was written. */
  ownSeconds: number;
  cpuSeconds: Record<PeerParty, number>;
  /**
   * Seconds in which neither its client nor its worker's processes used any CPU, in spans of at
   * least 0.3 s (read every 100 ms): the peer waiting (see docs/performance.md on its pauses).
   */
  idleSeconds: number;
  /** Rows of its output (/tmp/sift-peer-out.csv) with a label. */
  labelledRows: number;
  clientPeakRssMb: number;
}

/** A peer run's CPU seconds, its client's, its workers' and Redis's together. */
export function peerCpuSeconds(run: PeerFileRun): number {
  return PEER_PARTIES.reduce((sum, party) => sum + run.cpuSeconds[party], 0);
}

/** Why the peer cannot run here, in one line; null when it can. */
export async function peerMissing(settings: PeerSettings): Promise<string | null> {
  if (!existsSync(path.join(settings.dir, 'client.py'))) return `the peer was not found at ${settings.dir} (BENCH_PEER_DIR)`;
  const check = spawnSync(settings.python, ['-c', 'import celery, redis, sklearn'], { stdio: 'ignore' });
  if (check.status !== 0) return 'python3-celery, python3-redis and python3-sklearn are not installed (apt-get install -y python3-celery python3-redis python3-sklearn)';
  if (!existsSync(settings.model) && !existsSync(settings.trainCsv)) return `the peer has no model at ${settings.model} and no ${settings.trainCsv} to train one from`;
  const redis = new Redis({ ...PEER_REDIS, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch {
    return `no Redis answers at ${PEER_REDIS.host}:${PEER_REDIS.port}, where the peer's code keeps its queue and cache`;
  } finally {
    redis.disconnect();
  }
}

/** CPU seconds of a process and of its children (a prefork pool), from /proc; NaN once it is gone. */
function treeSeconds(pid: number): number {
  return readChildren(pid).reduce((sum, child) => sum + treeSeconds(child), procSeconds(pid));
}

// Runs client.py in this Python, noting its own CPU time and peak RSS at exit (RUSAGE_SELF: every thread).
const CLIENT_WITH_RUSAGE = `
import atexit, json, os, resource, runpy, sys
def report():
    u = resource.getrusage(resource.RUSAGE_SELF)
    with open(os.environ['BENCH_PEER_PROBE_FILE'], 'w') as f:
        json.dump({'cpuSeconds': u.ru_utime + u.ru_stime, 'peakRssMb': u.ru_maxrss / 1024}, f)
atexit.register(report)
sys.argv = ['client.py'] + sys.argv[1:]
runpy.run_path('client.py', run_name='__main__')
`;

// client.py writes its output here (fixed in its code).
const PEER_OUTPUT = '/tmp/sift-peer-out.csv';

export interface CeleryPeer {
  /** Labels `file` with client.py chunked, cold cache, checking its output. */
  run(file: BatchFile, round: number): Promise<PeerFileRun>;
  /** Stops the Celery worker (SIGTERM, SIGKILL after 10 s) and flushes the peer's Redis db. */
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return once(child, 'exit').then(() => undefined);
}

/**
 * Trains the peer's model when it has none (its train.py, once: a minute or two here), starts its
 * Celery worker (prefork, `settings.workers` processes) and warms it up with one untimed run of
 * `warmUp` (each pool process loads the model at its first task). Registered with `cleanup` until
 * stopped.
 */
export async function startCeleryPeer(settings: PeerSettings, warmUp: BatchFile, cleanup: Cleanup, dir: string, log: (line: string) => void): Promise<CeleryPeer> {
  const env = { ...process.env, PEER_MODEL: settings.model };
  if (!existsSync(settings.model)) {
    log(`bench: training the peer's model (${path.basename(settings.trainCsv)}) into ${settings.model}, once`);
    const trained = spawnSync(settings.python, [path.join(settings.dir, 'train.py'), settings.trainCsv, settings.model], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (trained.status !== 0) throw new Error(`the peer's train.py failed: ${trained.stderr?.toString().slice(-2000)}`);
  }
  const worker = spawn(settings.python, ['-m', 'celery', '-A', 'tasks', 'worker', '--concurrency', String(settings.workers), '--pool', 'prefork', '-Q', 'celery', '--loglevel', 'WARNING'], {
    cwd: settings.dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let workerOutput = '';
  const collect = (data: Buffer) => (workerOutput = (workerOutput + data.toString()).slice(-4096));
  worker.stdout!.on('data', collect);
  worker.stderr!.on('data', collect);
  let pool: number[] = [];
  const stop = async () => {
    if (worker.exitCode === null && worker.signalCode === null) {
      // Its pool, in case the main process must be killed and leaves them behind.
      pool = readChildren(worker.pid!);
      worker.kill('SIGTERM');
      const timer = setTimeout(() => {
        worker.kill('SIGKILL');
        for (const pid of pool) tryKill(pid);
      }, 10_000);
      await exited(worker);
      clearTimeout(timer);
    }
    const redis = new Redis({ ...PEER_REDIS, maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    await redis.flushdb().catch(() => undefined);
    redis.disconnect();
  };
  const forget = cleanup.add(stop);

  const redis = new Redis({ ...PEER_REDIS, db: 0, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  const run = async (file: BatchFile, round: number): Promise<PeerFileRun> => {
    if (worker.exitCode !== null || worker.signalCode !== null) throw new Error(`the peer's Celery worker exited:\n${workerOutput}`);
    const probeFile = path.join(dir, 'peer-probe.json');
    rmSync(probeFile, { force: true });
    rmSync(PEER_OUTPUT, { force: true });
    let clientPid: number | undefined;
    const timeline = new CpuTimeline<PeerParty>({
      client: () => (clientPid === undefined ? NaN : procSeconds(clientPid)),
      workers: () => treeSeconds(worker.pid!),
      redis: () => redisSeconds(redis),
    });
    await timeline.start(100);
    const { code, stdout, stderrTail, spawnAt, exitAt } = await runTimedClient(
      settings.python,
      ['-c', CLIENT_WITH_RUSAGE, 'chunked', file.path],
      { cwd: settings.dir, env: { ...env, BENCH_PEER_PROBE_FILE: probeFile } },
      { timeline, party: 'client', cleanup, onSpawn: (pid) => (clientPid = pid) },
    );
    await timeline.stop();
    if (code !== 0) throw new Error(`the peer's client.py exited ${code}:\n${stderrTail}`);
    const own = /rows=(\d+) seconds=([\d.]+)/.exec(stdout);
    if (!own) throw new Error(`the peer's client.py printed no result line: ${stdout}`);
    const usage = JSON.parse(readFileSync(probeFile, 'utf8')) as { cpuSeconds: number; peakRssMb: number };
    timeline.add('client', exitAt, usage.cpuSeconds);
    const rows = Number(own[1]);
    const labelledRows = await labelledRowsOf(PEER_OUTPUT, null, 'label', null);
    if (rows !== file.rows || labelledRows !== file.rows) throw new Error(`the peer labelled ${labelledRows} of ${rows} rows, not ${file.rows}`);
    const seconds = (exitAt - spawnAt) / 1000;
    return {
      round,
      workers: settings.workers,
      rows,
      seconds,
      rowsPerSecond: rows / seconds,
      ownSeconds: Number(own[2]),
      cpuSeconds: Object.fromEntries(PEER_PARTIES.map((party) => [party, timeline.used(party, spawnAt, exitAt)])) as Record<PeerParty, number>,
      idleSeconds: timeline.idleSeconds(['workers', 'client'], spawnAt, exitAt),
      labelledRows,
      clientPeakRssMb: usage.peakRssMb,
    };
  };

  try {
    // Tasks wait in the broker until the worker takes them, so this also waits for it to be up.
    log(`bench: peer warm-up, ${warmUp.rows} rows`);
    await run(warmUp, 0);
  } catch (error) {
    await stop();
    forget();
    redis.disconnect();
    throw error;
  }
  return {
    run,
    stop: async () => {
      await stop();
      forget();
      redis.disconnect();
      rmSync(PEER_OUTPUT, { force: true });
    },
  };
}

function readChildren(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
