import { eventually, freePort } from '../support/api';
import { parseLogLines } from '../support/log-lines';
import { deletePrefix, uniquePrefix } from '../support/redis';
import { startSiftUp } from '../support/sift-up';
import { tinyModelsDir } from '../support/tiny-models';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_WORKERS: '1' };

/** Runs `sift up` with `env` until its worker is ready, uploads a batch and waits for its end, then stops it. */
async function runOneBatch(env: Record<string, string>): Promise<{ pid: number; workerPid: number; batchId: string; code: number | null; output: string }> {
  const port = await freePort();
  const prefix = uniquePrefix('process-logs');
  const sift = startSiftUp({ ...shared, ...env, PORT: String(port), SIFT_KEY_PREFIX: prefix });
  try {
    await sift.waitFor(/worker ready/);
    const workerPid = Number((await sift.waitFor(/started 1 worker process\(es\) \(pid (\d+)\)/))[1]);
    const response = await fetch(`http://127.0.0.1:${port}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv', 'x-request-id': 'up-upload-1' }, body: 'text\nwarm\ncold\nhot\n' });
    expect(response.status).toBe(202);
    expect(response.headers.get('x-request-id')).toBe('up-upload-1');
    const { id } = (await response.json()) as { id: string };
    await eventually(async () => sift.output().includes(`batch ${id} completed`), 20_000, 'the completed line');
    const { code, output } = await sift.stop();
    return { pid: sift.pid, workerPid, batchId: id, code, output };
  } finally {
    await sift.kill();
    await deletePrefix(prefix);
  }
}

describe('the logs of sift up (the API in-process, a worker child on the same output)', () => {
  it('not on a terminal: JSON lines only, the API as role api with its pid, the worker as role worker with its own', async () => {
    const run = await runOneBatch({});
    expect(run.code).toBe(0);
    const lines = parseLogLines(run.output);
    expect(new Set(lines.map((line) => `${line.role} ${line.pid}`))).toEqual(new Set([`api ${run.pid}`, `worker ${run.workerPid}`]));
    // Once each. A worker may count the chunk before the API has read the input to its end: then
    // started comes before submitted, and the API, reading the end, completes the batch.
    const events = lines.filter((line) => line.batchId === run.batchId);
    expect(events.map((line) => line.event).sort()).toEqual(['batch.completed', 'batch.started', 'batch.submitted']);
    expect(events.find((line) => line.event === 'batch.submitted')).toMatchObject({ role: 'api', pid: run.pid, requestId: 'up-upload-1', rows: 3 });
    expect(events.find((line) => line.event === 'batch.started')).toMatchObject({ role: 'worker', pid: run.workerPid });
    expect(events.find((line) => line.event === 'batch.completed')).toMatchObject({ processed: 3, succeeded: 3 });
    expect(lines.filter((line) => line.role === 'worker').map((line) => line.msg)).toContainEqual(expect.stringMatching(/^SIGTERM: finishing the chunks in hand/));
  }, 60_000);

  it('SIFT_LOG_FORMAT=pretty: one readable line per event, each saying its role and pid', async () => {
    const run = await runOneBatch({ SIFT_LOG_FORMAT: 'pretty' });
    expect(run.code).toBe(0);
    const lines = run.output.split('\n').filter((line) => line !== '');
    // No colours off a terminal, no JSON, no line that is not an event's.
    for (const line of lines) expect(line).toMatch(new RegExp(`^\\[[\\d\\-T:.Z]+\\] (INFO|WARN): (api ${run.pid}|worker ${run.workerPid}) \\[[a-z-]+\\] [^{]+$`));
    const events = lines.filter((line) => line.includes(`batch ${run.batchId} `)).map((line) => / (api|worker) \d+ \[batches\] batch \S+ (\w+)/.exec(line)!.slice(1));
    expect(events.map(([, event]) => event).sort()).toEqual(['completed', 'started', 'submitted']);
    expect(events).toContainEqual(['api', 'submitted']);
    expect(events).toContainEqual(['worker', 'started']);
    expect(lines.find((line) => line.includes(`batch ${run.batchId} submitted`))).toMatch(/ requestId=up-upload-1$/);
  }, 60_000);
});
