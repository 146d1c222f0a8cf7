/**
 * docker-compose.yml's worker, made true: its environment is what a real worker needs to be
 * reached by Prometheus across the compose network, and its health check command passes against a
 * real worker's /healthz (tests/deploy runs it against a stand-in).
 */
import { execFile } from 'node:child_process';
import { loadConfig } from '../../src/config/config';
import { readYaml, type ComposeFile } from '../deploy/compose-files';
import { freePort } from '../support/api';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';
import { tinyModelsDir } from '../support/tiny-models';
import { startTestWorker } from '../support/worker';

const worker = readYaml<ComposeFile>('docker-compose.yml').services.worker;
const prometheus = readYaml<{ scrape_configs: { job_name: string; dns_sd_configs?: { port?: number }[] }[] }>('deploy/prometheus/prometheus.yml');

function runCheck(script: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { env: { ...process.env, ...env }, timeout: 10_000 }, (error) => resolve(error === null ? 0 : typeof error.code === 'number' ? error.code : -1));
  });
}

describe("compose's worker service", () => {
  it('listens on every interface of its container, on the port Prometheus scrapes', () => {
    const config = loadConfig(worker.environment ?? {}, '/app');
    expect(config.metrics).toBe(true);
    expect(config.metricsHost).toBe('0.0.0.0');
    expect(config.metricsPort).toBe(prometheus.scrape_configs.find((job) => job.job_name === 'sift-worker')?.dns_sd_configs?.[0].port);
    expect(worker.expose).toEqual([String(config.metricsPort)]);
  });

  it("passes its health check against a real worker started with compose's metrics settings, and fails once the worker stopped", async () => {
    const port = await freePort();
    const script = worker.healthcheck?.test[3] ?? '';
    const env = worker.environment ?? {};
    const prefix = uniquePrefix('compose-worker');
    const started = await startTestWorker({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_KEY_PREFIX: prefix, SIFT_METRICS: env.SIFT_METRICS ?? 'on', SIFT_METRICS_HOST: env.SIFT_METRICS_HOST ?? '', SIFT_METRICS_PORT: String(port) });
    try {
      expect(await runCheck(script, { SIFT_METRICS_PORT: String(port) })).toBe(0);
    } finally {
      await started.stop();
      // The worker's schedule state (which queue's turn it is) stays under its prefix.
      const redis = testRedis();
      await deleteKeys(redis, prefix).finally(() => redis.disconnect());
    }
    expect(await runCheck(script, { SIFT_METRICS_PORT: String(port) })).toBe(1);
  });
});
