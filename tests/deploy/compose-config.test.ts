import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from '../support/paths';

/**
 * `docker-compose config` reads, merges and validates compose files against the compose schema
 * without a Docker engine. CI installs Debian's docker-compose (.ci/run); elsewhere these tests
 * run where it is installed, and are skipped where it is not.
 */
function compose(args: string[]): { status: number | null; stdout: string; stderr: string } {
  // The host ports the files let one change are left at their defaults.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^SIFT_(HOST_REDIS|PROMETHEUS|GRAFANA)_PORT$|^SIFT_PROMETHEUS_SECRETS_DIR$/.test(name)));
  const run = spawnSync('docker-compose', args, { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 60_000, env: { ...env, COMPOSE_PROJECT_NAME: 'sift' } });
  return { status: run.error ? null : run.status, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}
const available = compose(['version']).status === 0;
if (!available && process.env.CI) throw new Error('CI must validate docker-compose.yml: .ci/run installs docker-compose, and it is not on PATH');
const withCompose = available ? it : it.skip;

describe('docker-compose config', () => {
  withCompose('accepts docker-compose.yml', () => {
    const run = compose(['-f', 'docker-compose.yml', 'config', '-q']);
    expect([run.status, run.stderr]).toEqual([0, '']);
  });

  withCompose('accepts it with the monitoring profile', () => {
    const run = compose(['-f', 'docker-compose.yml', '--profile', 'monitoring', 'config', '-q']);
    expect([run.status, run.stderr]).toEqual([0, '']);
  });

  withCompose('publishes Redis on the host loopback with deploy/compose/host-redis.yml', () => {
    const run = compose(['-f', 'docker-compose.yml', '-f', 'deploy/compose/host-redis.yml', 'config']);
    expect(run.status).toBe(0);
    // docker-compose 1.x writes the short form; Compose 2 the long one.
    expect(run.stdout).toMatch(/127\.0\.0\.1:6379:6379|host_ip: 127\.0\.0\.1\s+target: 6379\s+published: "?6379"?/);
    expect(compose(['-f', 'docker-compose.yml', 'config']).stdout).not.toContain('6379:6379');
  });
});
