import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../support/paths';
import { existsInProject, hostPathOf, mountsOf, readYaml, withDefaults, type ComposeFile } from './compose-files';
import { WORKER_NODE_OPTIONS } from '../../src/supervision/worker-processes';

const compose = readYaml<ComposeFile>('docker-compose.yml');
const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  authorization?: { type?: string; credentials_file?: string };
  static_configs?: { targets: string[] }[];
  dns_sd_configs?: { names: string[]; type?: string; port?: number }[];
}
const prometheusConfig = readYaml<{ scrape_configs: ScrapeConfig[] }>('deploy/prometheus/prometheus.yml');
const scrapeJob = (name: string) => prometheusConfig.scrape_configs.find((job) => job.job_name === name);

/** Runs a health check's `node -e` script as Docker would: exit code 0 is healthy. */
function runCheck(script: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { env: { ...process.env, ...env }, timeout: 10_000 }, (error) => {
      resolve(error === null ? 0 : typeof error.code === 'number' ? error.code : -1);
    });
  });
}

/** A server that answers 200 on `healthyPath` while `state.healthy`, 503 there otherwise, 404 elsewhere. */
async function fakeProcess(healthyPath: string): Promise<{ port: number; state: { healthy: boolean }; server: Server }> {
  const state = { healthy: true };
  const server = createServer((req, res) => res.writeHead(req.url === healthyPath ? (state.healthy ? 200 : 503) : 404).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, state, server };
}

describe('docker-compose.yml', () => {
  it('runs Redis with append-only persistence and a health check, not published on the host', () => {
    const redis = compose.services.redis;
    expect(redis.image).toMatch(/^redis:7/);
    expect(redis.command?.join(' ')).toContain('--appendonly yes');
    expect(redis.healthcheck).toBeDefined();
    // A Redis already on the host's 6379 must not stop `docker compose up`.
    expect(redis.ports).toBeUndefined();
  });

  it('publishes Redis on the host loopback only with deploy/compose/host-redis.yml, on a port that can be changed', () => {
    const override = readYaml<ComposeFile>('deploy/compose/host-redis.yml');
    expect(Object.keys(override.services)).toEqual(['redis']);
    expect(override.services.redis.ports).toEqual(['127.0.0.1:${SIFT_HOST_REDIS_PORT:-6379}:6379']);
    expect(readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8')).toContain('-f deploy/compose/host-redis.yml');
  });

  it('runs the API built from this repository against that Redis, once Redis is healthy, on every interface with API keys', () => {
    const api = compose.services.api;
    expect(api.environment).toMatchObject({ HOST: '0.0.0.0', SIFT_AUTH: 'keys' });
    expect(api.build).toBe('.');
    expect(api.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect((api.depends_on as Record<string, { condition: string }>).redis.condition).toBe('service_healthy');
    // The image's own health check (/readyz on PORT) is the API's.
    expect(api.healthcheck).toBeUndefined();
  });

  it('runs batch workers as a service of their own, on the same Redis and key prefix as the API', () => {
    const { api, worker } = compose.services;
    // Started as `sift up` starts its workers: with the worker's own Node options.
    expect(worker.command).toEqual(['node', ...WORKER_NODE_OPTIONS, 'dist/src/cli/sift.js', 'worker']);
    expect(worker.environment?.REDIS_URL).toBe(api.environment?.REDIS_URL);
    expect(worker.environment?.SIFT_KEY_PREFIX).toBe(api.environment?.SIFT_KEY_PREFIX);
    expect(api.environment?.SIFT_WORKERS).toBe('0');
  });

  it('gives workers a health check of their own, on their metrics port, which Prometheus scrapes', () => {
    const worker = compose.services.worker;
    expect(worker.environment?.SIFT_METRICS_PORT).toBe('9464');
    expect(worker.expose).toEqual(['9464']);
    const test = worker.healthcheck?.test ?? [];
    expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(test[3]).toContain('/healthz');
    expect(test[3]).toContain('process.env.SIFT_METRICS_PORT');
    expect(scrapeJob('sift-worker')?.dns_sd_configs?.[0]).toEqual({ names: ['worker'], type: 'A', port: 9464, refresh_interval: '15s' });
  });

  it('has a worker health check that passes while /healthz on SIFT_METRICS_PORT answers 200, and fails otherwise', async () => {
    const script = compose.services.worker.healthcheck?.test[3] ?? '';
    const fake = await fakeProcess('/healthz');
    try {
      expect(await runCheck(script, { SIFT_METRICS_PORT: String(fake.port) })).toBe(0);
      fake.state.healthy = false;
      expect(await runCheck(script, { SIFT_METRICS_PORT: String(fake.port) })).toBe(1);
    } finally {
      await new Promise((resolve) => fake.server.close(resolve));
    }
    expect(await runCheck(script, { SIFT_METRICS_PORT: String(fake.port) })).toBe(1);
  });

  it('builds an image whose command is what npm start runs, installed without the CUDA download', () => {
    const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // npm start runs the launcher, which runs the compiled CLI; the image runs that CLI directly (it is built in the image).
    expect(pkg.scripts.start).toBe('node bin/sift.js up');
    expect(readFileSync(path.join(PROJECT_ROOT, 'bin/sift.js'), 'utf8')).toContain("path.join(root, 'dist', 'src', 'cli', 'sift.js')");
    expect(dockerfile).toContain('CMD ["node", "dist/src/cli/sift.js", "up"]');
    expect(dockerfile).toMatch(/RUN npm ci [^\n]*--ignore-scripts/);
  });

  it("keeps the image's health check for the API: it passes while /readyz on PORT answers 200", async () => {
    const script = /^HEALTHCHECK .* CMD node -e "(.*)"$/m.exec(dockerfile)?.[1] ?? '';
    expect(script).toContain('/readyz');
    const fake = await fakeProcess('/readyz');
    try {
      expect(await runCheck(script, { PORT: String(fake.port) })).toBe(0);
      fake.state.healthy = false;
      expect(await runCheck(script, { PORT: String(fake.port) })).toBe(1);
    } finally {
      await new Promise((resolve) => fake.server.close(resolve));
    }
  });

  it('copies into the build stage every folder npm run build compiles', () => {
    const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const tsconfig = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const projects = [...pkg.scripts.build.matchAll(/tsc -p (\S+)/g)].map((m) => m[1]).filter((p) => p !== '.');
    const needed = new Set([...tsconfig.include, ...projects].map((entry) => entry.split('/')[0]));
    const copied = new Set([...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/)));
    expect([...needed].filter((entry) => !copied.has(entry))).toEqual([]);
  });
});

describe("docker-compose.yml's monitoring profile", () => {
  const { prometheus, grafana } = compose.services;

  it('adds Prometheus and Grafana, at pinned versions, only with --profile monitoring', () => {
    expect(prometheus.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(grafana.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    for (const [name, service] of Object.entries(compose.services)) {
      expect([name, service.profiles]).toEqual([name, ['redis', 'api', 'worker'].includes(name) ? undefined : ['monitoring']]);
    }
  });

  it('publishes Prometheus and Grafana on the host loopback only', () => {
    expect(prometheus.ports).toEqual(['127.0.0.1:${SIFT_PROMETHEUS_PORT:-9090}:9090']);
    expect(grafana.ports).toEqual(['127.0.0.1:${SIFT_GRAFANA_PORT:-3000}:3000']);
  });

  it('mounts files and folders that exist, and named volumes that are declared', () => {
    for (const service of [prometheus, grafana]) {
      for (const mount of mountsOf(service)) {
        if (mount.hostPath === undefined) continue;
        expect([mount.hostPath, existsInProject(mount.hostPath)]).toEqual([mount.hostPath, true]);
      }
      const named = (service.volumes ?? []).map((entry) => withDefaults(entry).split(':')[0]).filter((source) => !/^[./]/.test(source));
      for (const volume of named) expect(Object.keys(compose.volumes ?? {})).toContain(volume);
    }
    expect(prometheus.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    expect(hostPathOf(prometheus, '/etc/prometheus/prometheus.yml')).toBe('deploy/prometheus/prometheus.yml');
  });

  it("scrapes the API's /metrics with the admin key from a git-ignored file that compose mounts", () => {
    const job = scrapeJob('sift-api');
    expect(job?.static_configs).toEqual([{ targets: [`api:${compose.services.api.environment?.PORT}`] }]);
    expect(job?.metrics_path).toBe('/metrics');
    expect(job?.authorization?.type).toBe('Bearer');
    const keyFile = hostPathOf(prometheus, job?.authorization?.credentials_file ?? '');
    expect(keyFile).toBe('deploy/prometheus/secrets/sift-api-key');
    // The key's folder is mounted (the key itself is made by each operator), and git ignores all in it.
    expect(existsInProject(path.dirname(keyFile ?? ''))).toBe(true);
    expect(readFileSync(path.join(PROJECT_ROOT, 'deploy/prometheus/secrets/.gitignore'), 'utf8')).toMatch(/^\*$/m);
    expect(readFileSync(path.join(PROJECT_ROOT, '.dockerignore'), 'utf8')).toMatch(/^deploy$/m);
  });

  it('provisions the Prometheus data source and the dashboards folder Grafana mounts', () => {
    const datasources = readYaml<{ datasources: { uid: string; type: string; url: string }[] }>('deploy/grafana/provisioning/datasources/prometheus.yml');
    expect(datasources.datasources).toEqual([expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090' })]);
    const providers = readYaml<{ providers: { type: string; options: { path: string } }[] }>('deploy/grafana/provisioning/dashboards/sift.yml');
    expect(hostPathOf(grafana, '/etc/grafana/provisioning/datasources')).toBe('deploy/grafana/provisioning/datasources');
    expect(hostPathOf(grafana, '/etc/grafana/provisioning/dashboards')).toBe('deploy/grafana/provisioning/dashboards');
    expect(hostPathOf(grafana, providers.providers[0].options.path)).toBe('deploy/grafana/dashboards');
    const home = hostPathOf(grafana, grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '');
    expect(home).toBe('deploy/grafana/dashboards/sift.json');
  });
});
