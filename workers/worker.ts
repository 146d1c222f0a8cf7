/**
 * A Sift worker process: takes batch chunks from the shared queue until SIGTERM or SIGINT, then
 * finishes the chunks in hand and exits. Start as many as you like, on any machine that reaches
 * the Redis: `node dist/workers/worker.js` (or `sift worker`).
 */
import '../src/production-default';
import 'reflect-metadata';
import { runWorkerProcess } from '../src/app/processes';

void runWorkerProcess();
