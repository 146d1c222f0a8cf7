/**
 * `node dist/bench/online-fairness.js`: how long one key's `predict` of a new short text takes
 * while another key floods the API with `predictMany` calls of new texts as long as the model
 * reads (FAIRNESS_FLOODERS calls in flight at once, 100 texts each), against the same `predict`s
 * with no flood, on an API child with keys on (`SIFT_AUTH=keys`) and the bench's rate limits (so
 * high no request meets them). FAIRNESS_QUIET_MODEL (default: the flood's, sentiment) is the model
 * of the quiet key's predicts. With BENCH_OTHER_ROOT=<another checkout, built>, that checkout's API
 * is measured too, the two alternating (FAIRNESS_ROUNDS rounds a side). Prints each round's
 * median and 90th-percentile latency of the quiet key's predicts, and the flooder's texts/s.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ApiKeyStore } from '../src/auth/api-key-store';
import { redisKeys } from '../src/redis/keys';
import { startApiProcess } from './api-process';
import { median, percentile } from './median';
import { runBench } from './two-builds';

const ROOT = path.resolve(__dirname, '..', '..');
const ROUNDS = Number(process.env.FAIRNESS_ROUNDS ?? 2);
const FLOODERS = Number(process.env.FAIRNESS_FLOODERS ?? 8);
const SECONDS = 5;
const QUIET_MODEL = process.env.FAIRNESS_QUIET_MODEL ?? 'sentiment';
const WORDS = ['good', 'bad', 'film', 'plot', 'acting', 'boring', 'great', 'awful', 'music', 'scene', 'dull', 'fine'];

/** A text of about `chars` characters no one sent before (so every one misses the cache). */
function newText(chars: number): string {
  const words = [randomBytes(6).toString('hex')];
  let length = words[0].length;
  while (length < chars) {
    const word = WORDS[Math.floor(Math.random() * WORDS.length)];
    words.push(word);
    length += word.length + 1;
  }
  return words.join(' ').slice(0, chars);
}

async function graphql(url: string, key: string, query: string, variables: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { errors?: { message: string }[] };
  if (!response.ok || body.errors) throw new Error(`HTTP ${response.status}: ${JSON.stringify(body.errors ?? body)}`);
}

/** The quiet key's predict latencies (ms) over SECONDS, one request at a time. */
async function quietLatencies(url: string, key: string): Promise<number[]> {
  const latencies: number[] = [];
  const end = Date.now() + SECONDS * 1000;
  while (Date.now() < end) {
    const started = performance.now();
    await graphql(url, key, 'query($t: String!, $m: String) { predict(text: $t, model: $m) { label } }', { t: newText(80), m: QUIET_MODEL });
    latencies.push(performance.now() - started);
  }
  return latencies;
}

interface Round {
  quiet: number[];
  flooded: number[];
  floodTextsPerSecond: number;
}

async function measure(root: string): Promise<Round> {
  const api = await startApiProcess(path.join(root, 'models'), 'sentiment', root, { SIFT_AUTH: 'keys' });
  const redis = new Redis(api.settings.redisUrl);
  try {
    const store = new ApiKeyStore(redis, redisKeys(api.keyPrefix));
    const flooder = (await store.create('flooder', ['predict'])).key;
    const quiet = (await store.create('quiet', ['predict'])).key;
    // Warm the API's code paths (and its inference threads) before either measure.
    for (let i = 0; i < 20; i++) await graphql(api.url, flooder, 'query($t: [String!]!) { predictMany(texts: $t) { label } }', { t: Array.from({ length: 100 }, () => newText(2000)) });
    const alone = await quietLatencies(api.url, quiet);
    let flooding = true;
    let floodTexts = 0;
    const floodStarted = performance.now();
    const floods = Array.from({ length: FLOODERS }, async () => {
      while (flooding) {
        await graphql(api.url, flooder, 'query($t: [String!]!) { predictMany(texts: $t) { label } }', { t: Array.from({ length: 100 }, () => newText(2000)) });
        floodTexts += 100;
      }
    });
    // Let the flood fill the queue first.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const flooded = await quietLatencies(api.url, quiet);
    flooding = false;
    await Promise.all(floods);
    return { quiet: alone, flooded, floodTextsPerSecond: (floodTexts / (performance.now() - floodStarted)) * 1000 };
  } finally {
    redis.disconnect();
    await api.stop();
  }
}

async function main(): Promise<void> {
  const sides = [['this checkout', ROOT], ...(process.env.BENCH_OTHER_ROOT ? [[process.env.BENCH_OTHER_ROOT, path.resolve(process.env.BENCH_OTHER_ROOT)]] : [])];
  console.log(`One key's predict (${QUIET_MODEL}) of a new 80-character text, one at a time for ${SECONDS} s, alone and while another key keeps ${FLOODERS} predictMany calls (sentiment) of 100 new 2,000-character texts in flight; ms`);
  console.log('side                      round  alone p50  alone p90  flooded p50  flooded p90  flood texts/s');
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, root] of round % 2 === 0 ? sides : [...sides].reverse()) {
      const { quiet, flooded, floodTextsPerSecond } = await measure(root);
      const cells = [median(quiet), percentile(quiet, 90), median(flooded), percentile(flooded, 90)].map((ms) => ms.toFixed(1).padStart(9));
      console.log(`${name.padEnd(25)} ${String(round + 1).padStart(5)}  ${cells[0]}  ${cells[1]}  ${cells[2].padStart(11)}  ${cells[3].padStart(11)}  ${Math.round(floodTextsPerSecond).toLocaleString('en-US').padStart(13)}`);
    }
  }
}

runBench(main);
