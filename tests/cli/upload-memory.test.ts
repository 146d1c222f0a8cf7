import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestApi, type TestApi } from '../support/api';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../support/paths';
import { tinyModelsDir } from '../support/tiny-models';

/**
 * The command line streams an upload: what it holds does not grow with the file. fetch's default
 * redirect mode once made it keep every byte it sent (the request is cloned, its body teed, and
 * the branch never read buffers it all), so a 2,000,000-row file took the CLI to 384 MB.
 */
const execFileAsync = promisify(execFile);

describe('sift batch uploading a large file', () => {
  let t: TestApi;
  let dir: string;
  beforeAll(async () => {
    // No worker: the upload is what is measured.
    t = await startTestApi({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_CHUNK_SIZE: '1000' });
    dir = mkdtempSync(path.join(os.tmpdir(), 'sift-upload-memory-'));
  });
  afterAll(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds a few MB of the file at a time, not the bytes already sent', async () => {
    // 48 MB: 48,000 rows of about 1 KB.
    const file = path.join(dir, 'big.csv');
    const filler = 'lorem ipsum dolor sit amet '.repeat(37);
    writeFileSync(file, `id,text\n${Array.from({ length: 48_000 }, (_, i) => `r${i},${filler}${i}`).join('\n')}\n`);
    // In a process of its own (the API runs in this one), with every sample taken after a collection.
    const probe = await execFileAsync(process.execPath, ['--expose-gc', path.join(PROJECT_ROOT, 'dist/tests/support/upload-probe.js'), t.api.url, file], { encoding: 'utf8', timeout: 100_000 });
    expect(probe.stderr).toBe('');
    const { total, peakMb } = JSON.parse(probe.stdout) as { total: number; peakMb: number };
    expect(total).toBe(48_000);
    // With the whole body kept, the peak is the 48 MB sent and more.
    expect(peakMb).toBeLessThan(16);
  }, 120_000);
});
