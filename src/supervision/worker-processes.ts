import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Logger } from '../logger';

/** Worker processes `sift up` runs beside the API, each one restarted when it exits unasked. */
export interface WorkerProcesses {
  /**
   * Cancels pending restarts, sends SIGTERM to each live worker (they finish the chunks in hand)
   * and waits for them to exit. Once called, no worker is started again.
   */
  stop(): Promise<void>;
}

/** How workers are started and restarted. */
export interface WorkerProcessOptions {
  /** What `node` runs as one worker. @defaultValue `[...WORKER_NODE_OPTIONS, dist/workers/worker.js]` */
  args?: readonly string[];
  /** The wait before restarting a worker that exited. @defaultValue 1000 */
  initialRestartDelayMs?: number;
  /** Each exit in a row doubles the wait, up to this. @defaultValue 30000 */
  maxRestartDelayMs?: number;
  /** A worker that ran this long before it exited starts again from the initial wait. @defaultValue 60000 */
  stableAfterMs?: number;
  /**
   * `SIFT_METRICS_PORT` of the first worker: worker i (from 0) gets this port + i, so workers on
   * one machine do not fight over one port; a restarted worker gets its place's port again. 0 (or
   * unset) gives every worker 0: no metrics port. @defaultValue 0
   */
  metricsPort?: number;
}

type RestartTiming = Required<Omit<WorkerProcessOptions, 'args' | 'metricsPort'>>;

const WORKER_ENTRY = path.resolve(__dirname, '../../workers/worker.js');

/**
 * Node options of each worker process: the garbage collector works on the worker's own thread, not
 * on V8's background threads besides. A worker is one busy event loop for throughput, and `sift
 * up` puts it on a machine beside the API, Redis and other workers that fill the cores; there,
 * background GC threads do not finish GC sooner, they take cores from those processes and add
 * their own coordination. In `node dist/bench/worker-cpu.js` with 2 workers on 2 cores (8 runs a
 * side, alternating), a `sift batch` of the 200,000-row file took 1.53 s with it against 1.58 s
 * without, and 1.58 against 1.64 in a second pair; the workers' CPU was the same. On a machine
 * with cores to spare it is not measured: a worker started by hand (`node dist/src/cli/sift.js
 * worker`) runs without it (see docs/performance.md).
 * NODE_OPTIONS cannot carry this option (Node refuses it there), so it is a command-line option.
 */
export const WORKER_NODE_OPTIONS: readonly string[] = ['--single-threaded-gc'];

function checkedTiming(options: WorkerProcessOptions): RestartTiming {
  const timing = {
    initialRestartDelayMs: options.initialRestartDelayMs ?? 1000,
    maxRestartDelayMs: options.maxRestartDelayMs ?? 30_000,
    stableAfterMs: options.stableAfterMs ?? 60_000,
  };
  for (const [name, value] of Object.entries(timing)) {
    // A zero wait would restart a worker that fails at start as fast as it can fail.
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of milliseconds, not ${value}`);
  }
  if (timing.maxRestartDelayMs < timing.initialRestartDelayMs) {
    throw new RangeError(`maxRestartDelayMs (${timing.maxRestartDelayMs}) is less than initialRestartDelayMs (${timing.initialRestartDelayMs})`);
  }
  return timing;
}

/** `250 ms`, `1.5 s`, `3 min 20 s`. */
function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** One worker's place: its live process, or the timer that will start the next one. */
class WorkerSlot {
  private live: { child: ChildProcess; ended: Promise<void> } | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private exitsInARow = 0;
  private stopping = false;

  constructor(
    private readonly name: string,
    private readonly spawnWorker: () => ChildProcess,
    private readonly timing: RestartTiming,
    private readonly logger: Logger,
  ) {}

  /** Starts a worker process and returns its pid; one that cannot start counts as an exit. */
  start(): number | undefined {
    const startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = this.spawnWorker();
    } catch (error) {
      this.exited(undefined, startedAt, `could not start: ${(error as Error).message}`);
      return undefined;
    }
    let markEnded!: () => void;
    const live = { child, ended: new Promise<void>((resolve) => (markEnded = resolve)) };
    this.live = live;
    const end = (how: string) => {
      if (this.live !== live) return; // 'error' and 'exit' can both report one end
      this.live = undefined;
      markEnded();
      this.exited(child.pid, startedAt, how);
    };
    child.once('exit', (code, signal) => end(signal ? `signal ${signal}` : `code ${code}`));
    child.on('error', (error) => {
      // Without a pid the process never started; with one, a signal could not be sent.
      if (child.pid === undefined) end(`could not start: ${error.message}`);
      else this.logger.warn(`${this.name} (pid ${child.pid}): ${error.message}`);
    });
    return child.pid;
  }

  /** SIGTERM to the live worker, if any, and no restart from now on. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const live = this.live;
    if (!live) return;
    live.child.kill('SIGTERM');
    await live.ended;
  }

  private exited(pid: number | undefined, startedAt: number, how: string): void {
    if (this.stopping) return;
    const { initialRestartDelayMs, maxRestartDelayMs, stableAfterMs } = this.timing;
    const ranMs = Date.now() - startedAt;
    this.exitsInARow = ranMs >= stableAfterMs ? 1 : this.exitsInARow + 1;
    const delay = Math.min(initialRestartDelayMs * 2 ** (this.exitsInARow - 1), maxRestartDelayMs);
    // A worker killed by a signal wrote nothing of why: the cause is outside it.
    const why = how.startsWith('signal ') ? 'something outside it keeps stopping it: the kernel\'s out-of-memory killer (see `dmesg`), or a person or supervisor sending signals' : 'its own log above says why';
    const failing = this.exitsInARow > 1 ? `; ${this.exitsInARow} exits in a row, each within ${duration(stableAfterMs)} of starting: it keeps failing (${why})` : '';
    const capped = this.exitsInARow > 1 && delay === maxRestartDelayMs ? `, and every ${duration(delay)} while it keeps failing` : '';
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      const restarted = this.start();
      if (restarted !== undefined) this.logger.info(`${this.name} restarted (pid ${restarted})`);
    }, delay);
    this.logger.error(`${this.name} (pid ${pid ?? 'none'}) exited unexpectedly (${how}) after ${duration(ranMs)}${failing}; restarting it in ${duration(delay)}${capped}`);
  }
}

/**
 * Starts `count` worker processes with this process's environment (plus `env`), their logs going
 * to this process's stderr, and keeps each one's place filled: a worker that exits without being
 * asked to (a crash, a signal, any exit code, 0 included) is restarted after a wait that doubles
 * with each exit in a row, up to `maxRestartDelayMs`, and starts again from
 * `initialRestartDelayMs` once a worker has run `stableAfterMs`. So a worker that fails at start
 * (a bad setting) keeps being retried, never in a tight loop. Each exit and restart is one log line.
 */
export function startWorkerProcesses(count: number, env: Record<string, string>, logger: Logger, options: WorkerProcessOptions = {}): WorkerProcesses {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a whole number >= 0, not ${count}`);
  const timing = checkedTiming(options);
  const args = options.args ?? [...WORKER_NODE_OPTIONS, WORKER_ENTRY];
  const metricsPort = options.metricsPort ?? 0;
  if (!Number.isInteger(metricsPort) || metricsPort < 0 || (metricsPort > 0 && metricsPort + count - 1 > 65535)) {
    throw new RangeError(`metricsPort ${metricsPort} leaves no port for each of ${count} worker(s): SIFT_METRICS_PORT + SIFT_WORKERS - 1 must be at most 65535`);
  }
  const portOf = (i: number) => String(metricsPort === 0 ? 0 : metricsPort + i);
  const spawnWorker = (i: number) => () => spawn(process.execPath, args, { env: { ...process.env, ...env, SIFT_METRICS_PORT: portOf(i) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const slots = Array.from({ length: count }, (_, i) => new WorkerSlot(`worker ${i + 1}`, spawnWorker(i), timing, logger));
  const pids = slots.map((slot) => slot.start() ?? 'none');
  const ports = metricsPort === 0 ? '' : `; their /metrics and /healthz on port${count > 1 ? `s ${metricsPort} to ${metricsPort + count - 1}` : ` ${metricsPort}`} (SIFT_METRICS_PORT)`;
  if (count > 0) logger.info(`started ${count} worker process(es) (pid${count > 1 ? 's' : ''} ${pids.join(', ')}); SIFT_WORKERS sets how many${ports}`);
  let stopped: Promise<void> | undefined;
  return {
    stop: () => (stopped ??= Promise.all(slots.map((slot) => slot.stop())).then(() => undefined)),
  };
}
