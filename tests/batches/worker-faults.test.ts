import { BatchDocument, BatchResultsDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { eventually, startTestApi, type TestApi } from '../support/api';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };

function chunksDone(worker: WorkerProcess, batchId: string): number {
  return (worker.output().match(new RegExp(`of batch ${batchId}: done`, 'g')) ?? []).length;
}

describe('worker faults cost time, never rows', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '25' });
  });
  afterAll(() => t.stop());

  const workerEnv = () => ({ ...shared, SIFT_KEY_PREFIX: t.prefix, SIFT_WORKER_CONCURRENCY: '2', SIFT_STALL_INTERVAL_MS: '500' });

  it('a worker killed with SIGKILL mid-batch: its chunks run elsewhere and every row lands exactly once', async () => {
    const victim = await startWorkerProcess(workerEnv());
    const texts = Array.from({ length: 8000 }, (_, i) => `row ${i} is warm or cold or hot, who knows ${i % 97}`);
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts } });
    await eventually(async () => chunksDone(victim, submitBatch.id) >= 3, 30_000, 'the first worker to finish a few chunks');
    expect(await victim.stop('SIGKILL')).toBeNull();
    const survivor = await startWorkerProcess(workerEnv());
    try {
      await eventually(async () => (await t.client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 60_000, 'the batch to complete');
      const { batch } = await t.client.request(BatchDocument, { id: submitBatch.id });
      expect(batch).toMatchObject({ total: 8000, processed: 8000, succeeded: 8000, failed: 0 });
      const seen: number[] = [];
      for (let offset = 0; offset < 8000; offset += 1000) {
        const page = (await t.client.request(BatchResultsDocument, { id: submitBatch.id, offset, limit: 1000 })).batch!.results;
        seen.push(...page.map((r) => r.index));
      }
      expect(seen).toEqual(texts.map((_, i) => i));
      expect(chunksDone(survivor, submitBatch.id)).toBeGreaterThan(0);
    } finally {
      await survivor.stop();
    }
  }, 120_000);

  it('a worker sent SIGTERM finishes the chunks in hand and exits cleanly', async () => {
    const worker = await startWorkerProcess(workerEnv());
    const texts = Array.from({ length: 4000 }, (_, i) => `graceful ${i}`);
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts } });
    await eventually(async () => chunksDone(worker, submitBatch.id) >= 2, 30_000, 'the worker to start on the batch');
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.output()).toMatch(/SIGTERM: finishing the chunks in hand/);
    // Whatever it had started, it finished: a second worker completes the rest with every row once.
    const second = await startWorkerProcess(workerEnv());
    try {
      await eventually(async () => (await t.client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 60_000, 'the batch to complete');
      const { batch } = await t.client.request(BatchDocument, { id: submitBatch.id });
      expect(batch).toMatchObject({ processed: 4000, succeeded: 4000 });
    } finally {
      await second.stop();
    }
  }, 120_000);
});
