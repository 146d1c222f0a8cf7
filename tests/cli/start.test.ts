import { spawn } from 'node:child_process';
import path from 'node:path';
import { BatchDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { SiftClient } from '../../src/client/sift-client';
import { eventually, freePort } from '../support/api';
import { PROJECT_ROOT } from '../support/paths';
import { deleteKeys, TEST_REDIS_URL, testRedis, uniquePrefix } from '../support/redis';
import { tinyModelsDir } from '../support/tiny-models';

// What `npm start` runs.
const SIFT = path.join(PROJECT_ROOT, 'dist/src/cli/sift.js');

interface Run {
  code: number | null;
  output: string;
}

/** Runs the `npm start` entry point with `env`; `untilLine` resolves once a log line matches. */
function start(env: Record<string, string>, untilLine?: RegExp): Promise<Run & { stop(): Promise<Run> }> {
  const child = spawn(process.execPath, [SIFT, 'up'], { env: { PATH: process.env.PATH, REDIS_URL: TEST_REDIS_URL, HOST: '127.0.0.1', ...env }, cwd: PROJECT_ROOT });
  let output = '';
  const exited = new Promise<Run>((resolve) => child.on('exit', (code) => resolve({ code, output })));
  const onData = (data: Buffer) => (output += data.toString());
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const stop = async () => {
    child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve) => {
    if (untilLine) child.stderr.on('data', () => untilLine.test(output) && resolve({ code: null, output, stop }));
    void exited.then((run) => resolve({ ...run, stop }));
  });
}

describe('the server entry point (npm start)', () => {
  it('stops at once on a bad environment variable, naming it', async () => {
    const run = await start({ PORT: 'http' });
    expect(run.code).toBe(2);
    expect(run.output).toMatch(/PORT="http" is not valid: expected a whole number/);
  });

  it('stops on a default model that does not exist, listing the models found', async () => {
    const run = await start({ PORT: String(await freePort()), SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'sentiment' });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/SIFT_DEFAULT_MODEL=sentiment names no model folder; the models found are: tiny-hashed, tiny-transformer/);
  });

  it('serves the API and one worker until SIGTERM, then stops both cleanly', async () => {
    const port = await freePort();
    const prefix = uniquePrefix('start');
    const run = await start(
      { PORT: String(port), SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_KEY_PREFIX: prefix },
      /worker ready/,
    );
    expect(run.output).toContain(`GraphQL API at http://127.0.0.1:${port}/graphql`);
    expect(run.output).toContain('started 1 worker process(es)');
    const client = new SiftClient(`http://127.0.0.1:${port}`);
    const { submitBatch } = await client.request(SubmitBatchDocument, { input: { texts: ['warm', 'cold', 'hot'] } });
    await eventually(async () => (await client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 20_000, 'the batch to complete');
    const stopped = await run.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.output).toMatch(/SIGTERM: finishing in-flight requests/);
    expect(stopped.output).toMatch(/SIGTERM: finishing the chunks in hand/);
    const redis = testRedis();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });
});
