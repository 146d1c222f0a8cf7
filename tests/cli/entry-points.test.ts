import { spawnSync } from 'node:child_process';
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
