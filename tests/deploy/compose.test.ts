import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../support/paths';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
}

const compose = parse(readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');

describe('docker-compose.yml', () => {
  it('runs Redis with append-only persistence and a health check', () => {
    const redis = compose.services.redis;
    expect(redis.image).toMatch(/^redis:7/);
    expect(redis.command?.join(' ')).toContain('--appendonly yes');
    expect(redis.healthcheck).toBeDefined();
  });

  it('runs the API built from this repository against that Redis, once Redis is healthy, on every interface with API keys', () => {
    const api = compose.services.api;
    expect(api.environment).toMatchObject({ HOST: '0.0.0.0', SIFT_AUTH: 'keys' });
    expect(api.build).toBe('.');
    expect(api.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(api.depends_on?.redis.condition).toBe('service_healthy');
  });

  it('runs batch workers as a service of their own, on the same Redis and key prefix as the API', () => {
    const { api, worker } = compose.services;
    expect(worker.command).toEqual(['node', 'dist/src/cli/sift.js', 'worker']);
    expect(worker.environment?.REDIS_URL).toBe(api.environment?.REDIS_URL);
    expect(worker.environment?.SIFT_KEY_PREFIX).toBe(api.environment?.SIFT_KEY_PREFIX);
    expect(api.environment?.SIFT_WORKERS).toBe('0');
  });

  it('builds an image whose command is what npm start runs, installed without the CUDA download', () => {
    const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // npm start runs the launcher, which runs the compiled CLI; the image runs that CLI directly (it is built in the image).
    expect(pkg.scripts.start).toBe('node bin/sift.js up');
    expect(readFileSync(path.join(PROJECT_ROOT, 'bin/sift.js'), 'utf8')).toContain("path.join(root, 'dist', 'src', 'cli', 'sift.js')");
    expect(dockerfile).toContain('CMD ["node", "dist/src/cli/sift.js", "up"]');
    expect(dockerfile).toMatch(/RUN npm ci [^\n]*--ignore-scripts/);
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
