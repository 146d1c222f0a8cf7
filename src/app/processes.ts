/**
 * The Sift processes, each built from the same composition root: `sift up` / `npm start` (the
 * stack), `sift serve` (the API alone), `sift worker` and `node dist/workers/worker.js`.
 */
// type-graphql's decorators need it before any of the schema's modules loads (the command line
// loads this module only for the commands that run Sift, so that the others start without it).
import 'reflect-metadata';
import { startApi } from './api';
import { runProcess } from './run-process';
import { startStack } from './stack';
import { startWorker } from './worker';

/** `sift up`: the API, `SIFT_WORKERS` worker processes and, where needed, a private Redis. */
export function runStack(env: Record<string, string> = {}): Promise<void> {
  return runProcess({ name: 'sift', component: 'sift', role: 'api', stopping: 'finishing in-flight requests and chunks', start: (config, logger) => startStack(config, logger, env) }, env);
}

/**
 * `sift serve`: the API alone, against the Redis at REDIS_URL. No private Redis: one started
 * while the real one was briefly away held its port and lost every batch at the next restart
 * (an operator review); the API starts anyway and reconnects when that Redis answers.
 */
export function runApiProcess(env: Record<string, string> = {}): Promise<void> {
  return runProcess({ name: 'sift serve', component: 'sift', role: 'api', stopping: 'finishing in-flight requests', start: (config, logger) => startApi(config, logger) }, env);
}

/** `sift worker`: takes batch chunks until SIGINT or SIGTERM, then finishes the chunks in hand. */
export function runWorkerProcess(env: Record<string, string> = {}): Promise<void> {
  return runProcess({ name: 'sift worker', component: 'worker', role: 'worker', stopping: 'finishing the chunks in hand', start: startWorker }, env);
}
