import path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { configFailure } from '../support/config';
import { ErrorCodes, SiftError } from '../../src/errors';

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({}, '/srv/sift');
    expect(config).toMatchObject({
      port: 4000,
      redisUrl: 'redis://127.0.0.1:6379',
      modelsDir: path.resolve('/srv/sift', 'models'),
      defaultModel: 'sentiment',
      cacheTtlSeconds: 7 * 24 * 3600,
      keyPrefix: 'sift:',
      maxTextsPerRequest: 1000,
      runWindowMs: 0,
      maxRunSize: 256,
      workerMaxRunSize: null,
      executionProviders: ['cpu'],
      workerInferenceThreads: 0,
      maxRowBytes: 1024 * 1024,
      uploadIdleTimeoutMs: 60_000,
      maxUploadsPerKey: 2,
      maxUploads: 4,
      development: false,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable it documents', () => {
    const config = loadConfig(
      {
        PORT: '8080',
        REDIS_URL: 'redis://cache.internal:6380/2',
        SIFT_MODELS_DIR: '/opt/models',
        SIFT_DEFAULT_MODEL: 'question-type',
        SIFT_CACHE_TTL_SECONDS: '60',
        SIFT_KEY_PREFIX: 'prod:',
        SIFT_MAX_TEXTS_PER_REQUEST: '50',
        SIFT_RUN_WINDOW_MS: '3',
        SIFT_MAX_RUN_SIZE: '64',
        SIFT_WORKER_MAX_RUN_SIZE: '512',
        SIFT_EXECUTION_PROVIDERS: 'CUDA, cpu',
        SIFT_WORKER_INFERENCE_THREADS: '2',
        SIFT_MAX_ROW_BYTES: '65536',
        SIFT_UPLOAD_IDLE_TIMEOUT_MS: '1000',
        SIFT_MAX_UPLOADS_PER_KEY: '3',
        SIFT_MAX_UPLOADS: '12',
        NODE_ENV: 'development',
      },
      '/srv/sift',
    );
    expect(config).toMatchObject({
      port: 8080,
      redisUrl: 'redis://cache.internal:6380/2',
      modelsDir: '/opt/models',
      defaultModel: 'question-type',
      cacheTtlSeconds: 60,
      keyPrefix: 'prod:',
      maxTextsPerRequest: 50,
      runWindowMs: 3,
      maxRunSize: 64,
      workerMaxRunSize: 512,
      executionProviders: ['cuda', 'cpu'],
      workerInferenceThreads: 2,
      maxRowBytes: 65536,
      uploadIdleTimeoutMs: 1000,
      maxUploadsPerKey: 3,
      maxUploads: 12,
      development: true,
    });
  });

  it('still reads the former names of renamed settings; the new name wins when both are set', () => {
    expect(loadConfig({ SIFT_MAX_BATCH_SIZE: '32', SIFT_BATCH_WINDOW_MS: '2' }, '/srv/sift')).toMatchObject({ maxRunSize: 32, runWindowMs: 2 });
    expect(loadConfig({ SIFT_MAX_BATCH_SIZE: '32', SIFT_MAX_RUN_SIZE: '16' }, '/srv/sift').maxRunSize).toBe(16);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    // Number() reads these as 1000 and 16: not what a whole-number setting means.
    ['PORT', '1e3'],
    ['SIFT_WORKERS', '0x10'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_URL', 'not a url'],
    ['SIFT_CACHE_TTL_SECONDS', '0'],
    ['SIFT_CACHE_TTL_SECONDS', '1.5'],
    ['SIFT_MAX_TEXTS_PER_REQUEST', '-1'],
    ['SIFT_DEFAULT_MODEL', '../etc'],
    ['SIFT_KEY_PREFIX', 'has space'],
    ['SIFT_LOG_LEVEL', 'loud'],
    ['SIFT_WORKER_INFERENCE_THREADS', '-1'],
    ['SIFT_WORKER_INFERENCE_THREADS', 'two'],
    ['SIFT_MAX_RUN_SIZE', '0'],
    ['SIFT_EXECUTION_PROVIDERS', 'gpu'],
    ['SIFT_EXECUTION_PROVIDERS', 'cuda,,cpu'],
    ['SIFT_MAX_BATCH_SIZE', 'big'],
    ['SIFT_MAX_ROW_BYTES', '1MiB'],
    ['SIFT_MAX_ROW_BYTES', '100'],
    ['SIFT_MAX_ROW_BYTES', String(512 * 1024 ** 2)],
    ['SIFT_UPLOAD_IDLE_TIMEOUT_MS', '0'],
    ['SIFT_UPLOAD_IDLE_TIMEOUT_MS', '1.5'],
    ['SIFT_MAX_UPLOADS_PER_KEY', '0'],
    ['SIFT_MAX_UPLOADS', 'many'],
  ])('stops on %s=%s with a message naming the variable', (name, value) => {
    const error = configFailure({ [name]: value });
    expect(error).toBeInstanceOf(SiftError);
    expect(error.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(error.message).toContain(name);
    expect(error.message).toContain(JSON.stringify(value));
  });
});
