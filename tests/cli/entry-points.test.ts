import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../support/paths';

const PRELOAD = path.join(PROJECT_ROOT, 'dist/tests/support/report-graphql-mode.js');

/** What NODE_ENV graphql-js sees when `entry` loads it, with `env` as the environment. */
function graphqlModeOf(entry: string, env: NodeJS.ProcessEnv): string {
  const run = spawnSync(process.execPath, ['-r', PRELOAD, path.join(PROJECT_ROOT, entry), '--help'], { cwd: PROJECT_ROOT, env, encoding: 'utf8', timeout: 20_000 });
  return run.stdout.trim();
}

// Outside production graphql-js runs a cross-realm check on every type test, about a tenth of
// the API's CPU under load, and Express prints stack traces: every way of starting Sift must set
// the default before any library loads.
// (Workers do not load graphql-js.)
describe.each(['dist/src/cli/sift.js'])('entry point %s', (entry) => {
  it('loads graphql-js in production mode when NODE_ENV is unset', () => {
    expect(graphqlModeOf(entry, { PATH: process.env.PATH })).toBe('graphql loaded with NODE_ENV=production');
  });

  it('keeps NODE_ENV=development when a developer sets it', () => {
    expect(graphqlModeOf(entry, { PATH: process.env.PATH, NODE_ENV: 'development' })).toBe('graphql loaded with NODE_ENV=development');
  });
});

describe('the command line', () => {
  it("loads only graphql's printer at its start: not graphql-ws and ws, which only a subscription needs, nor the server parts a client never runs (a quarter of its start)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sift-modules-'));
    try {
      const probe = path.join(dir, 'modules.txt');
      const run = spawnSync(process.execPath, ['-r', path.join(PROJECT_ROOT, 'dist/tests/support/module-probe.js'), path.join(PROJECT_ROOT, 'dist/src/cli/sift.js'), 'batch', '--help'], {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH, SIFT_TEST_MODULE_PROBE: probe },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(run.status).toBe(0);
      const modules = readFileSync(probe, 'utf8').split('\n');
      // What it does load: the checks below would pass on a probe that saw nothing.
      expect(modules.some((file) => file.includes(`${path.sep}graphql${path.sep}language${path.sep}printer`))).toBe(true);
      expect(modules.filter((file) => /[\\/]graphql[\\/](execution|validation|type)[\\/]|[\\/]node_modules[\\/](graphql-ws|ws|reflect-metadata)[\\/]/.test(file))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
