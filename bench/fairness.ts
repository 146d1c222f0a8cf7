import path from 'node:path';
import { BatchDocument, CancelBatchDocument, SubmitBatchDocument } from '../src/client/generated/graphql';
import { SiftClient } from '../src/client/sift-client';
import { writeBatchCsv } from './batch-files';
import { startWorker, upload, type BatchBenchContext } from './batch-runs';
import type { Cleanup } from './cleanup';

/** A small batch submitted behind a big one, under one schedule. */
export interface SmallBehindBigRun {
  /** `fair` (the default schedule) or `first come, first served` (a window as large as the batch: every chunk queued at once, as before the schedule). */
  schedule: string;
  window: number;
  bigRows: number;
  smallRows: number;
  /** Rows of the big batch done when the small one was submitted, and when it completed. */
  bigDoneAtSubmit: number;
  bigDoneAtSmallDone: number;
  /** (bigDoneAtSmallDone - bigDoneAtSubmit) / bigRows, in %: how much more of the big batch ran while the small one waited. */
  extraPct: number;
  /** From the small batch's submit to its completion. */
  smallSeconds: number;
}

/** One batch of the priority run. */
export interface PriorityBatch {
  name: string;
  priority: string;
  rows: number;
  submittedAtSeconds: number;
  completedAtSeconds: number;
}

export interface FairnessResult {
  runs: SmallBehindBigRun[];
  /** LOW submitted first, then NORMAL, then HIGH; in the order they completed. */
  priorities: PriorityBatch[];
}

export interface FairnessOptions {
  bigRows: number;
  /** Runs `run` against a fresh API child with `env` (SIFT_SCHEDULE_WINDOW), whose workers get `env` too. */
  withApi: (env: Record<string, string>, run: (context: BatchBenchContext) => Promise<void>) => Promise<void>;
  dir: string;
  cleanup: Cleanup;
  log: (line: string) => void;
}

const SMALL_ROWS = 10;
const SMALL_AFTER_MS = 1000;
// Far above the big file's texts, so nothing of the small or the priority batches is cached.
const HIGH_TEXTS = 70_000_000;
const LOW_TEXTS = 80_000_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The fairness section (BENCH_PARTS=fairness), with one worker:
 * - a `bigRows` batch uploaded, then a 10-row batch submitted 1 s after the upload was answered:
 *   how much more of the big batch ran while the small one waited, under the fair schedule and,
 *   as the floor of the same run, first come first served (a window as large as the batch);
 * - LOW (bigRows) submitted first, then NORMAL (bigRows), then HIGH (a tenth): the order they
 *   complete in. LOW is as large as NORMAL so that it still has work when HIGH arrives: with a
 *   tenth of the rows, as before 2026-12-06, a worker that labels a file in a couple of seconds
 *   finished LOW (submitted first, and alone on the worker during NORMAL's upload) before HIGH's
 *   upload was answered, and the order said nothing about priorities.
 */
export async function runFairnessSection(options: FairnessOptions): Promise<FairnessResult> {
  const { bigRows, dir, log } = options;
  const big = await writeBatchCsv(path.join(dir, 'fair-big.csv'), bigRows, 0.3);
  const tenth = Math.max(1000, Math.round(bigRows / 10));
  const high = await writeBatchCsv(path.join(dir, 'fair-high.csv'), tenth, 0.3, 11, HIGH_TEXTS);
  const low = await writeBatchCsv(path.join(dir, 'fair-low.csv'), bigRows, 0.3, 13, LOW_TEXTS);
  const runs: SmallBehindBigRun[] = [];
  for (const [schedule, window] of [
    ['fair', 4],
    ['first come, first served', bigRows],
  ] as const) {
    await options.withApi({ SIFT_SCHEDULE_WINDOW: String(window) }, async (context) => {
      const worker = await startWorker(context, options.cleanup);
      const client = new SiftClient(context.url);
      try {
        const { id } = await upload(context.url, big.path);
        await sleep(SMALL_AFTER_MS);
        const bigDoneAtSubmit = await processed(client, id);
        const started = performance.now();
        const texts = Array.from({ length: SMALL_ROWS }, (_, i) => `a small batch of ${SMALL_ROWS} rows, row ${i}, ${schedule}`);
        const { submitBatch } = await client.request(SubmitBatchDocument, { input: { texts } });
        while ((await client.request(BatchDocument, { id: submitBatch.id })).batch?.status !== 'COMPLETED') await sleep(10);
        const smallSeconds = (performance.now() - started) / 1000;
        const bigDoneAtSmallDone = await processed(client, id);
        // The big batch's rest would only take time: cancel it.
        await client.request(CancelBatchDocument, { id });
        const run = { schedule, window, bigRows, smallRows: SMALL_ROWS, bigDoneAtSubmit, bigDoneAtSmallDone, extraPct: (100 * (bigDoneAtSmallDone - bigDoneAtSubmit)) / bigRows, smallSeconds };
        runs.push(run);
        log(`bench: fairness, ${schedule}: the small batch took ${smallSeconds.toFixed(2)} s; the big one did ${run.extraPct.toFixed(1)}% more of its rows meanwhile`);
      } finally {
        await client.close();
        await worker.stop();
      }
    });
  }

  const priorities: PriorityBatch[] = [];
  await options.withApi({}, async (context) => {
    const worker = await startWorker(context, options.cleanup);
    const client = new SiftClient(context.url);
    const started = performance.now();
    const since = () => (performance.now() - started) / 1000;
    try {
      const submitted: { name: string; priority: string; id: string; rows: number; at: number }[] = [];
      for (const [name, priority, file] of [
        ['LOW', 'LOW', low],
        ['NORMAL', 'NORMAL', big],
        ['HIGH', 'HIGH', high],
      ] as const) {
        const { id, total } = await upload(context.url, file.path, priority);
        submitted.push({ name, priority, id, rows: total, at: since() });
      }
      const pending = new Map(submitted.map((batch) => [batch.id, batch]));
      while (pending.size > 0) {
        for (const [id, batch] of pending) {
          const status = (await client.request(BatchDocument, { id })).batch?.status;
          if (status !== 'COMPLETED') continue;
          pending.delete(id);
          priorities.push({ name: batch.name, priority: batch.priority, rows: batch.rows, submittedAtSeconds: batch.at, completedAtSeconds: since() });
        }
        if (since() > 600) throw new Error('the priority batches did not all complete in 10 minutes');
        await sleep(50);
      }
      log(`bench: fairness, completion order: ${priorities.map((b) => `${b.name} (${b.completedAtSeconds.toFixed(1)} s)`).join(', ')}`);
    } finally {
      await client.close();
      await worker.stop();
    }
  });
  return { runs, priorities };
}

async function processed(client: SiftClient, id: string): Promise<number> {
  return (await client.request(BatchDocument, { id })).batch?.processed ?? 0;
}
