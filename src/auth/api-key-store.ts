import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys';
import { isScope, type Principal, type Scope } from './principal';

/** Every key starts so, which makes a leaked one easy to recognize (and to scan for). */
export const KEY_PREFIX = 'sift_';

/** An API key as `sift keys list` shows it: never the key itself, which only its creator saw. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt: string | null;
}

// sift_<id: 16 hex>_<secret: 32 random bytes, base64url>. The id finds the record; the secret
// (256 bits) is checked against its hash. A secret of that strength needs no slow hash.
const KEY_PATTERN = /^sift_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

const digest = (secret: string) => createHash('sha256').update(secret).digest();

/**
 * API keys in Redis, under the key prefix: only a SHA-256 of each secret is stored, so reading
 * Redis does not give anyone a key. Keys are made, listed and revoked by `sift keys`, which
 * talks to Redis directly (the first key has to come from somewhere).
 */
export class ApiKeyStore {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  /** Makes a key; the returned `key` is shown once and never stored. */
  async create(name: string, scopes: readonly Scope[]): Promise<{ key: string; info: ApiKeyInfo }> {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const info: ApiKeyInfo = { id, name, scopes: [...scopes], createdAt: new Date().toISOString(), revokedAt: null };
    await this.redis
      .multi()
      .hset(this.keys.apiKey(id), { name, scopes: scopes.join(','), secretHash: digest(secret).toString('hex'), createdAt: info.createdAt })
      .sadd(this.keys.apiKeys(), id)
      .exec();
    return { key: `${KEY_PREFIX}${id}_${secret}`, info };
  }

  async list(): Promise<ApiKeyInfo[]> {
    const ids = await this.redis.smembers(this.keys.apiKeys());
    const infos = await Promise.all(ids.map((id) => this.info(id)));
    return infos.filter((info): info is ApiKeyInfo => info !== null).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Revokes a key for good; false when there is no key with that id. */
  async revoke(id: string): Promise<boolean> {
    if (!(await this.redis.exists(this.keys.apiKey(id)))) return false;
    await this.redis.hsetnx(this.keys.apiKey(id), 'revokedAt', new Date().toISOString());
    return true;
  }

  /**
   * Gives a key other scopes (the key itself stays as it is, so its holders need nothing new).
   * A revoked key keeps its scopes: revoking is for good.
   */
  async setScopes(id: string, scopes: readonly Scope[]): Promise<'updated' | 'unknown' | 'revoked'> {
    const [name, revokedAt] = await this.redis.hmget(this.keys.apiKey(id), 'name', 'revokedAt');
    if (name === null) return 'unknown';
    if (revokedAt !== null) return 'revoked';
    await this.redis.hset(this.keys.apiKey(id), 'scopes', scopes.join(','));
    return 'updated';
  }

  /** The principal a key stands for; null for anything that is not a live key. */
  async verify(key: string): Promise<Principal | null> {
    const match = KEY_PATTERN.exec(key);
    if (!match) return null;
    const [, id, secret] = match;
    const [name, scopes, secretHash, revokedAt] = await this.redis.hmget(this.keys.apiKey(id), 'name', 'scopes', 'secretHash', 'revokedAt');
    if (name === null || scopes === null || secretHash === null || revokedAt !== null) return null;
    const expected = Buffer.from(secretHash, 'hex');
    const given = digest(secret);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    return { keyId: id, name, scopes: scopes.split(',').filter(isScope), rateKey: `key:${id}` };
  }

  private async info(id: string): Promise<ApiKeyInfo | null> {
    const hash = await this.redis.hgetall(this.keys.apiKey(id));
    if (!hash.name) return null;
    return { id, name: hash.name, scopes: hash.scopes.split(',').filter(isScope), createdAt: hash.createdAt, revokedAt: hash.revokedAt ?? null };
  }
}
