/**
 * `node dist/bench/results-download.js`: what one results download of a finished 200,000-row
 * batch costs the API process and Redis, in CPU milliseconds (so the figures hold on a busy
 * machine): results.csv and results.jsonl, with and without the echoed id and text (`sift batch`
 * asks for CSV without), three downloads of each, alternating. One API child and one worker label
 * the bench file first. With BENCH_OTHER_ROOT=<another checkout, built>, a second API child runs
 * from there on the same Redis keys, and each download is made from both in turn: the same batch,
 * the same machine, two builds.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { deleteKeys, startApiProcess, type ApiProcess } from './api-process';
import { writeBatchCsv } from './batch-files';
import { startWorker, upload } from './batch-runs';
import { procSeconds, redisSeconds } from './cpu';
import { median } from './median';
import { readSettings } from './settings';

const ROOT = path.resolve(__dirname, '..', '..');
const DOWNLOADS = 3;
const VARIANTS = ['results.csv?echo=false', 'results.csv', 'results.jsonl?echo=false', 'results.jsonl'];

/** Gives up on a batch that has not completed in this long (a worker that died, say). */
const COMPLETE_WITHIN_MS = 10 * 60_000;

async function waitCompleted(url: string, id: string): Promise<void> {
  const deadline = Date.now() + COMPLETE_WITHIN_MS;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`batch ${id} did not complete within ${COMPLETE_WITHIN_MS / 60_000} min`);
    const batch = (await (await fetch(`${url}/batches/${id}`)).json()) as { status: string };
    if (batch.status === 'COMPLETED') return;
    if (batch.status === 'FAILED' || batch.status === 'CANCELLED') throw new Error(`batch ${id} ended ${batch.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Downloads `variant` of batch `id` from `api` to the end; the API's and Redis's CPU ms meanwhile, and the bytes. */
async function download(api: ApiProcess, redis: Redis, id: string, variant: string): Promise<{ apiMs: number; redisMs: number; bytes: number }> {
  const apiBefore = procSeconds(api.pid);
  const redisBefore = await redisSeconds(redis);
  const response = await fetch(`${api.url}/batches/${id}/${variant}`);
  if (response.status !== 200 || !response.body) throw new Error(`GET ${variant} answered ${response.status}`);
  let bytes = 0;
  for await (const piece of response.body) bytes += piece.length;
  return { apiMs: 1000 * (procSeconds(api.pid) - apiBefore), redisMs: 1000 * ((await redisSeconds(redis)) - redisBefore), bytes };
}

async function main(): Promise<void> {
  const settings = readSettings(ROOT);
  const prefix = `sift-bench:${randomBytes(6).toString('hex')}:`;
  const roots = [ROOT, ...(process.env.BENCH_OTHER_ROOT ? [path.resolve(process.env.BENCH_OTHER_ROOT)] : [])];
  const dir = mkdtempSync(path.join(tmpdir(), 'sift-download-'));
  const apis: ApiProcess[] = [];
  let redis: Redis | undefined;
  try {
    for (const root of roots) apis.push(await startApiProcess(settings.modelsDir, settings.model, root, { SIFT_KEY_PREFIX: prefix, SIFT_WORKERS: '0' }));
    const [first] = apis;
    redis = new Redis(first.settings.redisUrl);
    const file = await writeBatchCsv(path.join(dir, 'in.csv'), 200_000, 0.3);
    const worker = await startWorker({
      url: first.url,
      apiPid: first.pid,
      projectRoot: ROOT,
      redisUrl: first.settings.redisUrl,
      keyPrefix: prefix,
      workerEnv: { ...process.env, REDIS_URL: first.settings.redisUrl, SIFT_KEY_PREFIX: prefix, SIFT_MODELS_DIR: settings.modelsDir, SIFT_DEFAULT_MODEL: settings.model, SIFT_METRICS_PORT: '0' },
    });
    let id: string;
    try {
      ({ id } = await upload(first.url, file.path));
      await waitCompleted(first.url, id);
    } finally {
      await worker.stop();
    }
    const figures = new Map<string, { apiMs: number[]; redisMs: number[]; bytes: number }>();
    for (let round = 0; round < DOWNLOADS; round++) {
      for (const variant of VARIANTS) {
        for (const [i, api] of (round % 2 === 0 ? apis : [...apis].reverse()).entries()) {
          const side = round % 2 === 0 ? i : apis.length - 1 - i;
          const { apiMs, redisMs, bytes } = await download(api, redis, id, variant);
          const key = `${side}\t${variant}`;
          const entry = figures.get(key) ?? { apiMs: [], redisMs: [], bytes };
          if (entry.bytes !== bytes) throw new Error(`${variant} came with ${bytes} bytes, ${entry.bytes} before`);
          entry.apiMs.push(apiMs);
          entry.redisMs.push(redisMs);
          figures.set(key, entry);
        }
      }
    }
    console.log(`One results download of a completed ${file.rows.toLocaleString('en-US')}-row batch: CPU ms of the API and of Redis (median of ${DOWNLOADS}, then each), and its size`);
    console.log('api from                  download                   api ms  redis ms  MB     every api ms / redis ms');
    for (const [key, { apiMs, redisMs, bytes }] of figures) {
      const [side, variant] = key.split('\t');
      const root = Number(side) === 0 ? 'this checkout' : roots[Number(side)];
      const every = apiMs.map((ms, i) => `${ms.toFixed(0)}/${redisMs[i].toFixed(0)}`).join(', ');
      console.log(`${root.padEnd(25)} ${variant.padEnd(25)} ${median(apiMs).toFixed(0).padStart(7)} ${median(redisMs).toFixed(0).padStart(9)}  ${(bytes / 1e6).toFixed(1).padEnd(6)} ${every}`);
    }
  } finally {
    await Promise.all(apis.map((api) => api.stop()));
    if (apis.length > 0) await deleteKeys(apis[0].settings.redisUrl, prefix);
    redis?.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
