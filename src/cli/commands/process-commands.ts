/**
 * The commands that run Sift itself rather than talk to it. Each loads its entry module only when
 * run, so `sift predict` and friends start without loading models or the server.
 */
import { CliError, ExitCodes } from '../cli-errors';

// A start-up failure (a missing model, a port in use) is one message, not a stack trace.
async function starting(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    throw new CliError((error as Error).message, ExitCodes.START_FAILED);
  }
}

/** `sift up [--workers N]`: what `npm start` runs (API, N workers, a private Redis where needed). */
export async function upCommand(workers: number | undefined): Promise<void> {
  const { runServer } = require('../../main') as typeof import('../../main');
  await starting(() => runServer(workers === undefined ? {} : { SIFT_WORKERS: String(workers) }));
}

/** `sift serve`: the API alone. */
export async function serveCommand(): Promise<void> {
  const { runServer } = require('../../main') as typeof import('../../main');
  await starting(() => runServer({ SIFT_WORKERS: '0' }));
}

/** `sift worker [--concurrency N]`. */
export async function workerCommand(concurrency: number | undefined): Promise<void> {
  const { runWorker } = require('../../../workers/worker') as typeof import('../../../workers/worker');
  await starting(() => runWorker(concurrency === undefined ? {} : { SIFT_WORKER_CONCURRENCY: String(concurrency) }));
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
