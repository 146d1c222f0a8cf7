import { spawn } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import net, { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BatchDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { SiftClient } from '../../src/client/sift-client';
import { WORKER_NODE_OPTIONS } from '../../src/supervision/worker-processes';
import { eventually, freePort } from '../support/api';
import { childProcesses, isAlive } from '../support/child-processes';
import { parseLogLines } from '../support/log-lines';
import { PROJECT_ROOT } from '../support/paths';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';
import { startRedisServer } from '../support/redis-server';
import { startSiftUp } from '../support/sift-up';
import { tinyModelsDir, writeTinyHashedModel } from '../support/tiny-models';

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

/** A PATH holding only `node` (no redis-server), as on a machine without Redis installed. */
function pathWithoutRedis(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sift-path-'));
  symlinkSync(process.execPath, path.join(dir, 'node'));
  return dir;
}

/** The lines a failed start printed, minus blank ones. */
const linesOf = (output: string) => output.split('\n').filter((line) => line.trim() !== '');

// A start that fails must close what it opened (inference threads, Redis connections, a private
// redis-server) and end by itself: the process exits with nothing killing it, well within the
// grace period after which it would say something was still open.
const STILL_OPEN = /still open .* exiting anyway/;

describe('a start that fails part way', () => {
  it('on a busy port: one line, exit 1, nothing left open', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const started = Date.now();
      const run = await start({ PORT: String(port), SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_LOG_LEVEL: 'warn', SIFT_KEY_PREFIX: uniquePrefix('busy') });
      expect(run.code).toBe(1);
      expect(linesOf(run.output)).toEqual([`sift: Port ${port} on 127.0.0.1 is already in use. Stop what listens there, or set PORT to another port.`]);
      expect(Date.now() - started).toBeLessThan(9000);
    } finally {
      busy.close();
    }
  });

  it('with an unreachable Redis and none to start: one line saying how to get Redis, exit 1', async () => {
    const run = await start({ PATH: pathWithoutRedis(), REDIS_URL: `redis://127.0.0.1:${await freePort()}`, PORT: String(await freePort()), SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' });
    expect(run.code).toBe(1);
    const lines = linesOf(run.output);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sift: Nothing answers at REDIS_URL=redis:\/\/127\.0\.0\.1:\d+\/?, and no redis-server is on the PATH to start one\. Sift needs Redis/);
  });

  it('with a model graph ONNX Runtime cannot load: one line naming the file, exit 1, the inference threads stopped', async () => {
    const models = mkdtempSync(path.join(tmpdir(), 'sift-broken-start-'));
    const broken = writeTinyHashedModel(models, 'broken');
    writeFileSync(path.join(broken, 'model.onnx'), 'not a model');
    const run = await start({ PORT: String(await freePort()), SIFT_MODELS_DIR: models, SIFT_DEFAULT_MODEL: 'broken', SIFT_LOG_LEVEL: 'warn', SIFT_KEY_PREFIX: uniquePrefix('broken') });
    expect(run.code).toBe(1);
    const lines = linesOf(run.output);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`sift: Model file ${path.join(broken, 'model.onnx')} cannot be loaded by ONNX Runtime`);
    expect(run.output).not.toMatch(STILL_OPEN);
  });
});

describe('start-up failures: one line each, no stack trace, a non-zero exit', () => {
  const models = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };
  const noStack = (output: string) => expect(output).not.toMatch(/^\s+at /m);

  it('a models folder that does not exist', async () => {
    const missing = path.join(mkdtempSync(path.join(tmpdir(), 'sift-no-models-')), 'models');
    const run = await start({ PORT: String(await freePort()), SIFT_MODELS_DIR: missing });
    expect(run.code).toBe(1);
    expect(linesOf(run.output)).toEqual([`sift: SIFT_MODELS_DIR=${missing} is not a readable folder; point it at the folder holding model folders (default ./models).`]);
  });

  it('a REDIS_URL that is not a Redis URL', async () => {
    const run = await start({ ...models, PORT: String(await freePort()), REDIS_URL: 'http://x' });
    expect(run.code).toBe(2);
    expect(linesOf(run.output)).toEqual(['sift: REDIS_URL="http://x" is not valid: expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379.']);
  });

  it('a REDIS_URL whose host does not exist (no private Redis for another machine)', async () => {
    const run = await start({ ...models, PORT: String(await freePort()), REDIS_URL: 'redis://unreachable-host.invalid:6379', SIFT_KEY_PREFIX: uniquePrefix('unreachable') });
    expect(run.code).toBe(1);
    const lines = linesOf(run.output);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sift: Nothing answers at REDIS_URL=redis:\/\/unreachable-host\.invalid:6379\/?\. Start that Redis server or point REDIS_URL at one that runs\.$/);
  });

  it('a HOST that does not resolve: one line naming HOST, exit 1', async () => {
    // Before: "could not start: getaddrinfo ENOTFOUND ..." with no word of which setting.
    const run = await start({ ...models, HOST: 'sift-api.example.invalid', SIFT_AUTH: 'keys', PORT: String(await freePort()), SIFT_KEY_PREFIX: uniquePrefix('host') });
    expect(run.code).toBe(1);
    expect(linesOf(run.output).filter((line) => line.startsWith('sift:'))).toEqual([expect.stringMatching(/^sift: HOST=sift-api\.example\.invalid is no name this machine can resolve \((ENOTFOUND|EAI_AGAIN)\); set HOST to one of its addresses/)]);
    expect(run.output).not.toMatch(STILL_OPEN);
  });

  it('a setting it cannot read, SIFT_LOG_FORMAT included', async () => {
    for (const [name, value, problem] of [
      ['SIFT_LOG_FORMAT', 'xml', 'expected json or pretty.'],
      ['SIFT_WORKERS', 'lots', 'expected a whole number from 0 to 64 (default 1).'],
    ]) {
      const run = await start({ ...models, PORT: String(await freePort()), [name]: value });
      expect(run.code).toBe(2);
      expect(linesOf(run.output)).toEqual([`sift: ${name}="${value}" is not valid: ${problem}`]);
    }
  });

  it('with JSON logs at info: the log lines so far as JSON, none an error, then the one plain line for the person who started it', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const run = await start({ ...models, PORT: String(port), SIFT_LOG_FORMAT: 'json', SIFT_KEY_PREFIX: uniquePrefix('busy-json') });
      expect(run.code).toBe(1);
      const lines = linesOf(run.output);
      expect(lines.at(-1)).toBe(`sift: Port ${port} on 127.0.0.1 is already in use. Stop what listens there, or set PORT to another port.`);
      const logged = parseLogLines(lines.slice(0, -1).join('\n'));
      expect(logged.length).toBeGreaterThan(0);
      expect(logged.every((line) => line.level === 'info' && line.role === 'api')).toBe(true);
      noStack(run.output);
    } finally {
      busy.close();
    }
  });
});

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
    expect(run.output).toContain(`the web page at http://127.0.0.1:${port}/ and the GraphQL API at http://127.0.0.1:${port}/graphql`);
    expect(run.output).toContain('started 1 worker process(es)');
    const client = new SiftClient(`http://127.0.0.1:${port}`);
    const { submitBatch } = await client.request(SubmitBatchDocument, { input: { texts: ['warm', 'cold', 'hot'] } });
    await eventually(async () => (await client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 20_000, 'the batch to complete');
    const stopped = await run.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.output).toMatch(/SIGTERM: finishing in-flight requests/);
    expect(stopped.output).toMatch(/SIGTERM: finishing the chunks in hand/);
    await deletePrefix(prefix);
  });
});

/**
 * `sift COMMAND` with nothing answering at REDIS_URL (redis-server on the PATH, so `sift up` could
 * start a private one there): it must serve without one, retrying, and take the Redis that then
 * starts on that port (a review: a private one had taken the port of the operator's restarting Redis).
 */
async function waitsForItsRedis(command: string, env: Record<string, string>): Promise<void> {
  const port = await freePort();
  const redisPort = await freePort();
  const child = spawn(process.execPath, [SIFT, command], {
    env: { PATH: process.env.PATH, REDIS_URL: `redis://127.0.0.1:${redisPort}`, HOST: '127.0.0.1', PORT: String(port), SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_KEY_PREFIX: uniquePrefix(command), ...env },
    cwd: PROJECT_ROOT,
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let redis: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  try {
    await eventually(async () => output.includes('Sift is ready'), 20_000, 'the API to be ready');
    expect(output).not.toMatch(/private redis-server/);
    expect(output).toMatch(/is not answering .*retrying in the background/);
    redis = await startRedisServer(redisPort);
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 20_000, '/readyz once Redis answers');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    child.kill('SIGKILL');
    // A failing run may leave a process of the child's holding its output pipes open (a private
    // redis-server, before): let go of them so Jest can end.
    child.stdout.destroy();
    child.stderr.destroy();
    await redis?.kill();
  }
}

describe('sift serve', () => {
  it('never starts a private Redis: with none at REDIS_URL it serves, retrying, and takes that Redis once it answers', async () => {
    await waitsForItsRedis('serve', {});
  }, 60_000);
});

describe('sift up with SIFT_PRIVATE_REDIS=off', () => {
  it('starts no private Redis on a port whose Redis is only restarting: it serves, retrying, and takes that Redis once it answers', async () => {
    await waitsForItsRedis('up', { SIFT_PRIVATE_REDIS: 'off', SIFT_WORKERS: '0' });
  }, 60_000);

  it('refuses a SIFT_PRIVATE_REDIS that is neither auto nor off', async () => {
    const run = await start({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', PORT: String(await freePort()), SIFT_PRIVATE_REDIS: 'no' });
    expect(linesOf(run.output)).toEqual([expect.stringMatching(/^sift: SIFT_PRIVATE_REDIS="no" is not valid: expected auto or off/)]);
  });
});

describe('sift up killed (SIGKILL) with its workers running', () => {
  it('leaves no worker behind: each stops cleanly within seconds, and its metrics port is free again', async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    const prefix = uniquePrefix('orphan');
    const sift = startSiftUp({ PORT: String(port), SIFT_METRICS_PORT: String(metricsPort), SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_KEY_PREFIX: prefix, SIFT_WORKERS: '1' });
    let worker: number | undefined;
    try {
      await sift.waitFor(/worker ready/);
      worker = Number((await sift.waitFor(/started 1 worker process\(es\) \(pid (\d+)\)/))[1]);
      process.kill(sift.pid, 'SIGKILL');
      // Before, the worker ran on with PID 1 as its parent (13 minutes later in a review), and the
      // next sift up's worker failed for good on the busy metrics port.
      await eventually(async () => !isAlive(worker!), 15_000, 'the orphaned worker to stop');
      expect(sift.output()).toMatch(/the process that started this one \(sift up\) is gone/);
      expect(sift.output()).toMatch(/SIGTERM: finishing the chunks in hand/);
      const free = await new Promise<boolean>((resolve) => {
        const probe = net.createServer().once('error', () => resolve(false)).listen(metricsPort, '127.0.0.1', () => probe.close(() => resolve(true)));
      });
      expect(free).toBe(true);
    } finally {
      if (worker !== undefined && isAlive(worker)) process.kill(worker, 'SIGKILL');
      await sift.stop();
      await deletePrefix(prefix);
    }
  }, 60_000);
});

describe('a worker process that dies under sift up', () => {
  it('is restarted, batches still complete, and SIGTERM still stops everything', async () => {
    const port = await freePort();
    const prefix = uniquePrefix('restart');
    const sift = startSiftUp({ PORT: String(port), SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_KEY_PREFIX: prefix, SIFT_WORKERS: '1' });
    const client = new SiftClient(`http://127.0.0.1:${port}`);
    const workerPids = () => childProcesses(sift.pid).filter((child) => child.args.includes('workers/worker.js')).map((child) => child.pid);
    try {
      await sift.waitFor(/worker ready/);
      const first = Number((await sift.waitFor(/started 1 worker process\(es\) \(pid (\d+)\)/))[1]);
      expect(workerPids()).toEqual([first]);
      // Started with the worker's own Node options (garbage collection on its own thread).
      const nodeOptionsOf = (pid: number) => childProcesses(sift.pid).find((child) => child.pid === pid)!.args.split(' ').slice(1, -1);
      expect(nodeOptionsOf(first)).toEqual(['--single-threaded-gc']);

      process.kill(first, 'SIGKILL');
      await sift.waitFor(new RegExp(`worker 1 \\(pid ${first}\\) exited unexpectedly \\(signal SIGKILL\\) after [^;]+; restarting it in 1 s`));
      const second = Number((await sift.waitFor(/worker 1 restarted \(pid (\d+)\)/))[1]);
      expect(second).not.toBe(first);
      expect(isAlive(first)).toBe(false);
      expect(workerPids()).toEqual([second]);
      // Restarted with the worker's own Node options too.
      expect(nodeOptionsOf(second)).toEqual([...WORKER_NODE_OPTIONS]);

      // The new worker takes the batch: there is no other.
      const { submitBatch } = await client.request(SubmitBatchDocument, { input: { texts: ['warm', 'cold', 'hot'] } });
      await eventually(async () => (await client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 30_000, 'the batch to complete');
      expect(sift.output().match(/worker ready/g)).toHaveLength(2);

      const stopped = await sift.stop();
      expect(stopped.code).toBe(0);
      expect(stopped.output).toMatch(/SIGTERM: finishing the chunks in hand/);
      expect(stopped.output).not.toMatch(STILL_OPEN);
      // Stopping is asked for: not reported as an exit, not followed by a restart.
      expect(stopped.output.match(/exited unexpectedly/g)).toHaveLength(1);
      expect(stopped.output.match(/ restarted \(pid/g)).toHaveLength(1);
      expect(isAlive(second)).toBe(false);
    } finally {
      await sift.stop();
      for (const pid of workerPids()) process.kill(pid, 'SIGKILL');
      await client.close();
      await deletePrefix(prefix);
    }
  }, 90_000);
});
