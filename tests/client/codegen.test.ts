import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../support/paths';

const run = promisify(execFile);

describe('generated client', () => {
  it('is up to date with schema/schema.graphql and the operations (run `npm run codegen` when this fails)', async () => {
    // --check generates in memory and exits non-zero when any committed file would change.
    const result = await run(process.execPath, ['node_modules/.bin/graphql-codegen', '--config', 'codegen.ts', '--check'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, FORCE_COLOR: '0' },
    }).then(
      () => 0,
      (error: { code: number; stdout: string; stderr: string }) => {
        process.stderr.write(error.stdout + error.stderr);
        return error.code;
      },
    );
    expect(result).toBe(0);
  }, 60_000);
});
