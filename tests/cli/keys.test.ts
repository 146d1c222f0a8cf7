import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ApiKeyStore } from '../../src/auth/api-key-store';
import { redisKeys } from '../../src/redis/keys';
import { PROJECT_ROOT } from '../support/paths';
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
