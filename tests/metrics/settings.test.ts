import { loadConfig } from '../../src/config/config';
import { configFailure } from '../support/config';
import { ErrorCodes } from '../../src/errors';
import { startWorkerProcesses } from '../../src/supervision/worker-processes';
import { createLogger } from '../../src/logger';

describe('the metrics settings', () => {
  it('default to metrics on, workers on 127.0.0.1:9464, the queue sampled every 5 s', () => {
    expect(loadConfig({}, '/srv/sift')).toMatchObject({ metrics: true, metricsPort: 9464, metricsHost: '127.0.0.1', metricsQueueIntervalMs: 5000 });
    expect(loadConfig({ SIFT_METRICS: 'OFF', SIFT_METRICS_PORT: '0', SIFT_METRICS_HOST: '0.0.0.0', SIFT_METRICS_QUEUE_INTERVAL_MS: '250' }, '/srv/sift')).toMatchObject({
      metrics: false,
      metricsPort: 0,
      metricsHost: '0.0.0.0',
      metricsQueueIntervalMs: 250,
    });
  });

  it.each([
    [{ SIFT_METRICS: 'no' }, /SIFT_METRICS="no" is not valid: expected on or off/],
    [{ SIFT_METRICS_PORT: '70000' }, /SIFT_METRICS_PORT="70000" is not valid: expected a whole number from 0 to 65535/],
    [{ SIFT_METRICS_PORT: 'ninety' }, /SIFT_METRICS_PORT="ninety"/],
    [{ SIFT_METRICS_QUEUE_INTERVAL_MS: '10' }, /SIFT_METRICS_QUEUE_INTERVAL_MS="10" is not valid: expected a whole number from 100/],
  ])('refuse %j, naming the variable', (env, message) => {
    const error = configFailure(env as Record<string, string>);
    expect(error.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(error.message).toMatch(message);
  });

  it('leave no worker of `sift up` without a port of its own', () => {
    const logger = createLogger('silent');
    expect(() => startWorkerProcesses(3, {}, logger, { metricsPort: 65534 })).toThrow(/SIFT_METRICS_PORT \+ SIFT_WORKERS - 1 must be at most 65535/);
  });
});
