import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestApi, type TestApi } from '../support/api';
import { PROJECT_ROOT } from '../support/paths';
import { tinyModelsDir } from '../support/tiny-models';

// The client as an outside project gets it: npm pack in packages/client, npm install of the
// tarball into a project of its own, then a query against a real server from there.
describe('the sift-client package', () => {
  let t: TestApi;
  let project: string;
  beforeAll(async () => {
    t = await startTestApi({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' });
    const packed = mkdtempSync(path.join(tmpdir(), 'sift-client-pack-'));
    execFileSync('npm', ['pack', '--pack-destination', packed, '--silent'], { cwd: path.join(PROJECT_ROOT, 'packages/client'), stdio: 'pipe' });
    const [tarball] = readdirSync(packed).filter((file) => file.endsWith('.tgz'));
    project = mkdtempSync(path.join(tmpdir(), 'sift-client-user-'));
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'outside', private: true }));
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(packed, tarball)], { cwd: project, stdio: 'pipe' });
  }, 120_000);
  afterAll(() => t.stop());

  it('installs from its tarball with its own dependencies and runs a typed query against a server', async () => {
    writeFileSync(
      path.join(project, 'main.js'),
      `const { SiftClient, PredictDocument, isFinalStatus, SiftAuthError, SiftConnectionError, SiftRequestError, ServerUrlError } = require('sift-client');
       const sift = new SiftClient(process.argv[2]);
       sift.request(PredictDocument, { text: 'a great movie' }).then(async ({ predict }) => {
         let badUrl;
         try { new SiftClient('localhost:4000'); } catch (error) { badUrl = error instanceof ServerUrlError; }
         const errors = { auth: new SiftAuthError([{ message: 'm', extensions: { code: 'FORBIDDEN' } }]) instanceof SiftRequestError, connection: typeof SiftConnectionError, badUrl };
         process.stdout.write(JSON.stringify({ label: predict.label, model: predict.model, final: isFinalStatus('COMPLETED'), errors }));
         await sift.close();
       });`,
    );
    // Not spawnSync: the server runs in this process and must keep answering meanwhile.
    const run = await promisify(execFile)(process.execPath, ['main.js', t.api.url], { cwd: project, encoding: 'utf8', timeout: 20_000 });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ label: 'POSITIVE', model: 'tiny-transformer', final: true, errors: { auth: true, connection: 'function', badUrl: true } });
  });

  it('ships type definitions a TypeScript project checks its use against', () => {
    const source = path.join(project, 'typed.ts');
    writeFileSync(
      source,
      `import { PredictDocument, SiftAuthError, SiftClient, SiftConnectionError, type SiftClientOptions } from 'sift-client';
       export async function label(text: string): Promise<string> {
         const { predict } = await new SiftClient('http://localhost:4000').request(PredictDocument, { text });
         return predict.label;
       }
       export function options(apiKey: string | undefined): SiftClientOptions {
         return { apiKey };
       }
       export async function keyed(text: string): Promise<string> {
         try {
           return (await new SiftClient('http://localhost:4000', options('sift_0123456789abcdef_key')).request(PredictDocument, { text })).predict.label;
         } catch (error) {
           if (error instanceof SiftAuthError) return error.code === 'FORBIDDEN' ? 'no scope' : 'no key';
           if (error instanceof SiftConnectionError) return 'no server';
           throw error;
         }
       }
       // @ts-expect-error: the key is a string
       export const notAKey = () => new SiftClient('http://localhost:4000', { apiKey: 42 });
       // @ts-expect-error: the variables are typed, so a missing text is an error
       export const wrong = () => new SiftClient('x').request(PredictDocument, {});`,
    );
    const tsc = path.join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc');
    const check = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--skipLibCheck', source], { cwd: project, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
