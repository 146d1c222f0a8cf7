import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ApiKeyStore } from '../../src/auth/api-key-store';
import { redisKeys } from '../../src/redis/keys';
import { freePort } from '../support/api';
import { PROJECT_ROOT } from '../support/paths';
import { startRedisServer } from '../support/redis-server';
import { deleteKeys, TEST_REDIS_URL, testRedis, uniquePrefix } from '../support/redis';

const SIFT = path.join(PROJECT_ROOT, 'dist/src/cli/sift.js');

describe('sift keys', () => {
  const prefix = uniquePrefix('keys-cli');
  const redis = testRedis();
  const sift = (...args: string[]) => spawnSync(process.execPath, [SIFT, 'keys', ...args], { env: { PATH: process.env.PATH, REDIS_URL: TEST_REDIS_URL, SIFT_KEY_PREFIX: prefix }, encoding: 'utf8' });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('creates a key shown once, lists it without the key, and revokes it', async () => {
    const created = sift('create', '--name', 'ci runner', '--scopes', 'batches');
    expect(created.status).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^sift_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/only time it is shown/);
    const store = new ApiKeyStore(redis, redisKeys(prefix));
    const principal = await store.verify(key);
    expect(principal).toMatchObject({ name: 'ci runner', scopes: ['batches'] });

    const listed = sift('list', '--json');
    expect(listed.status).toBe(0);
    const records = JSON.parse(listed.stdout) as { id: string; name: string; revokedAt: string | null }[];
    expect(records).toEqual([expect.objectContaining({ id: principal!.keyId, name: 'ci runner', revokedAt: null })]);
    expect(listed.stdout).not.toContain(key.slice(22));

    expect(sift('revoke', principal!.keyId).status).toBe(0);
    expect(await store.verify(key)).toBeNull();
    expect(JSON.parse(sift('list', '--json').stdout)[0].revokedAt).not.toBeNull();
  });

  it('update gives a key other scopes, the key unchanged; not a revoked key, nor an unknown one', async () => {
    const key = sift('create', '--name', 'nightly').stdout.trim();
    const store = new ApiKeyStore(redis, redisKeys(prefix));
    const { keyId } = (await store.verify(key))!;
    const updated = sift('update', keyId, '--scopes', 'batches,priority');
    expect([updated.status, updated.stderr]).toEqual([0, `Key ${keyId} now has batches, priority: servers apply it within a few seconds; its holders keep the same key.\n`]);
    expect(await store.verify(key)).toMatchObject({ name: 'nightly', scopes: ['batches', 'priority'] });
    expect(JSON.parse(sift('list', '--json').stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ id: keyId, scopes: ['batches', 'priority'] })]));
    expect(sift('update', keyId, '--scopes', 'root').status).toBe(2);
    const alone = sift('update', keyId, '--scopes', 'priority');
    expect([alone.status, alone.stderr.trim()]).toEqual([2, 'sift: --scopes priority: priority lets a key\'s batches be HIGH, so it goes with batches; give --scopes batches,priority (and predict if the key predicts too).']);
    const unknown = sift('update', 'nope', '--scopes', 'predict');
    expect([unknown.status, unknown.stderr.trim()]).toEqual([2, 'sift: No API key has the id "nope"; sift keys list shows them.']);
    expect(sift('revoke', keyId).status).toBe(0);
    const revoked = sift('update', keyId, '--scopes', 'admin');
    expect([revoked.status, revoked.stderr.trim()]).toEqual([2, `sift: Key ${keyId} is revoked, and stays so; make a new one with sift keys create.`]);
    expect(await store.verify(key)).toBeNull();
  });

  it('refuses unknown scopes, an unknown id, and a Redis that does not answer, each with one line', () => {
    const scopes = sift('create', '--name', 'x', '--scopes', 'predict,root');
    expect(scopes.status).toBe(2);
    expect(scopes.stderr.trim()).toBe('sift: --scopes takes predict, batches, priority, admin (comma separated); got "predict,root".');
    const unknown = sift('revoke', 'nope');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/No API key has the id "nope"/);
    const away = spawnSync(process.execPath, [SIFT, 'keys', 'list'], { env: { PATH: process.env.PATH, REDIS_URL: 'redis://127.0.0.1:1' }, encoding: 'utf8' });
    expect(away.status).toBe(3);
    expect(away.stderr.trim().split('\n')).toHaveLength(1);
    expect(away.stderr).toMatch(/No Redis answers at REDIS_URL=redis:\/\/127\.0\.0\.1:1/);
  });
});

describe('sift keys against a Redis that wants a password', () => {
  it('says what to put in REDIS_URL when the password is missing or wrong, exit 2 (it said no Redis answered)', async () => {
    const port = await freePort();
    const server = await startRedisServer(port, { password: 'pw' });
    try {
      for (const [url, words] of [
        [`redis://127.0.0.1:${port}`, /wants a password, and REDIS_URL gives none \(NOAUTH/],
        [`redis://:bad@127.0.0.1:${port}`, /refused the password in REDIS_URL \(WRONGPASS/],
      ] as const) {
        const run = spawnSync(process.execPath, [SIFT, 'keys', 'list'], { env: { PATH: process.env.PATH, REDIS_URL: url, SIFT_KEY_PREFIX: uniquePrefix('keys-pw') }, encoding: 'utf8' });
        expect({ url, status: run.status }).toEqual({ url, status: 2 });
        expect(run.stderr).toMatch(words);
        expect(run.stderr).toMatch(/redis:\/\/:PASSWORD@host:port/);
      }
      const right = spawnSync(process.execPath, [SIFT, 'keys', 'list'], { env: { PATH: process.env.PATH, REDIS_URL: server.url, SIFT_KEY_PREFIX: uniquePrefix('keys-pw') }, encoding: 'utf8' });
      expect(right.status).toBe(0);
    } finally {
      await server.kill();
    }
  });
});
