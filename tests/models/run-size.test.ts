import path from 'node:path';
import { readModelDefinition } from '../../src/models/manifest';
import { HASHED_WORKER_RUN_SIZE, workerRunSize } from '../../src/models/run-size';
import { tinyModelsDir } from '../support/tiny-models';

describe("a batch worker's run size", () => {
  it('puts a chunk of a hashed n-gram model in one run, keeps SIFT_MAX_RUN_SIZE for other models, and takes SIFT_WORKER_MAX_RUN_SIZE for every model when set', async () => {
    const hashed = await readModelDefinition(path.join(tinyModelsDir(), 'tiny-hashed'));
    const transformer = await readModelDefinition(path.join(tinyModelsDir(), 'tiny-transformer'));
    expect(workerRunSize(hashed, { maxRunSize: 256, workerMaxRunSize: null })).toBe(HASHED_WORKER_RUN_SIZE);
    expect(workerRunSize(hashed, { maxRunSize: 4096, workerMaxRunSize: null })).toBe(4096);
    expect(workerRunSize(transformer, { maxRunSize: 256, workerMaxRunSize: null })).toBe(256);
    expect(workerRunSize(hashed, { maxRunSize: 256, workerMaxRunSize: 32 })).toBe(32);
    expect(workerRunSize(transformer, { maxRunSize: 256, workerMaxRunSize: 32 })).toBe(32);
  });
});
