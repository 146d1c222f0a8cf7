/**
 * The commands that run Sift itself rather than talk to it. Each loads its module only when run,
 * so `sift predict` and friends start without loading models or the server. The processes report
 * their own start-up failures (one line, and an exit code) and exit when closed.
 */

/** `sift up [--workers N]`: what `npm start` runs (API, N workers, a private Redis where needed). */
export async function upCommand(workers: number | undefined): Promise<void> {
  const { runStack } = require('../../app/processes') as typeof import('../../app/processes');
  await runStack(workers === undefined ? {} : { SIFT_WORKERS: String(workers) });
}

/** `sift serve`: the API alone, against the Redis at REDIS_URL (never a private one); workers run elsewhere. */
export async function serveCommand(): Promise<void> {
  const { runApiProcess } = require('../../app/processes') as typeof import('../../app/processes');
  await runApiProcess();
}

/** `sift worker [--concurrency N]`. */
export async function workerCommand(concurrency: number | undefined): Promise<void> {
  const { runWorkerProcess } = require('../../app/processes') as typeof import('../../app/processes');
  await runWorkerProcess(concurrency === undefined ? {} : { SIFT_WORKER_CONCURRENCY: String(concurrency) });
}

/** `sift train [NAME...]`. */
export async function trainCommand(names: string[]): Promise<void> {
  const { trainModels } = require('../../training/train') as typeof import('../../training/train');
  await trainModels(names);
}

/** `sift eval`. */
export async function evalCommand(): Promise<void> {
  const { evaluateModels } = require('../../training/evaluate') as typeof import('../../training/evaluate');
  await evaluateModels();
}
