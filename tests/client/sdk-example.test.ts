import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { startTestApi, type TestApi } from '../support/api';
import { PROJECT_ROOT } from '../support/paths';
import { tinyModelsDir } from '../support/tiny-models';
import { startTestWorker, type TestWorker } from '../support/worker';

const run = promisify(execFile);
const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' };

// examples/sdk as its README says to use it, against a real server: codegen from the running
// server's schema, compile with the generated types, run. A copy inside dist/, so the copy
// resolves the project's own node_modules instead of installing them; sift-client is the package
// in packages/client (built by npm run build), linked as `npm install ../packages/client` would.
// Twice: against a server without keys, and against one with SIFT_AUTH=keys, the key in
// SIFT_API_KEY (codegen's introspection, SiftClient over HTTP, graphql-ws's connection_init).
describe.each<{ auth: string; env: Record<string, string> }>([
  { auth: 'off', env: {} },
  { auth: 'keys', env: { SIFT_AUTH: 'keys' } },
])('examples/sdk, an outside project using the typed SDK (SIFT_AUTH=$auth)', ({ env: auth }) => {
  let t: TestApi;
  let worker: TestWorker;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, ...auth });
    worker = await startTestWorker({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    dir = path.join(PROJECT_ROOT, 'dist', `sdk-example-${randomBytes(4).toString('hex')}`);
    cpSync(path.join(PROJECT_ROOT, 'examples/sdk'), dir, { recursive: true, filter: (source) => !/node_modules|generated|dist/.test(path.relative(path.join(PROJECT_ROOT, 'examples/sdk'), source)) });
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(path.join(PROJECT_ROOT, 'packages/client'), path.join(dir, 'node_modules/sift-client'));
  });
  afterAll(async () => {
    await worker.stop();
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates typed documents from the running server, compiles against them, and labels text and follows a batch', async () => {
    // The /graphql URL the server prints, with keys on; its root with keys off: the example takes both.
    const env: NodeJS.ProcessEnv = { ...process.env, SIFT_URL: t.apiKey ? `${t.api.url}/graphql` : t.api.url };
    delete env.SIFT_API_KEY;
    if (t.apiKey) env.SIFT_API_KEY = t.apiKey;
    // Not the synchronous child_process calls: the server runs in this process and must keep answering.
    await run(process.execPath, [path.join(PROJECT_ROOT, 'node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', 'codegen.ts'], { cwd: dir, env });
    await run(process.execPath, [path.join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: dir, env });
    const { stdout, stderr } = await run(process.execPath, ['dist/main.js'], { cwd: dir, env, timeout: 30_000 });
    expect(stderr).toBe('');
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^predict: (POSITIVE|NEGATIVE) \([01]\.\d{3}\)/);
    expect(lines[1]).toMatch(/^batch \S+: 3 rows$/);
    const progress = lines.filter((line) => line.startsWith('  '));
    expect(progress.at(-1)).toMatch(/^ {2}COMPLETED 3\/3 \(\d new rows\)$/);
    expect(lines.slice(-3)).toEqual([
      expect.stringMatching(/^row 0: (POSITIVE|NEGATIVE) {2}a dull film$/),
      expect.stringMatching(/^row 1: (POSITIVE|NEGATIVE) {2}a fine film$/),
      expect.stringMatching(/^row 2: (POSITIVE|NEGATIVE) {2}what a waste of time$/),
    ]);
  }, 90_000);
});
