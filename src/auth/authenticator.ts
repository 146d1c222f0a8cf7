import { createHash } from 'node:crypto';
import { ErrorCodes, unavailableError, userError, type SiftError } from '../errors';
import { isRedisOutage, REDIS_RETRY_AFTER_SECONDS } from '../redis/outage';
import type { ApiKeyStore } from './api-key-store';
import { hasScope, localPrincipal, type Principal, type Scope } from './principal';

export type AuthMode = 'keys' | 'off';

export interface AuthenticatorOptions {
  mode: AuthMode;
  store: ApiKeyStore;
  /**
   * How long a verified key is trusted without asking Redis again (ms): a revoked key stops
   * working within this time. Keeps auth off the hot path (one Redis read per key per period).
   */
  cacheMs?: number;
  /** Verified keys remembered at most (MAX_CACHED by default). */
  maxCached?: number;
  /**
   * While Redis does not answer, a key verified within this long (ms) is still trusted
   * (OUTAGE_GRACE_MS by default): predictions need no Redis, and a restart of it should not
   * refuse every request of every client with a key.
   */
  outageGraceMs?: number;
}

/** How long a verified key stays trusted while Redis is away: a restart's worth, and then some. */
const OUTAGE_GRACE_MS = 60_000;

/** The refusal when a key cannot be checked because Redis is away (and this server has not seen it lately). */
export function keysUnavailable(): SiftError {
  return unavailableError(
    ErrorCodes.REDIS_UNAVAILABLE,
    `Redis is not answering right now, so this server cannot check the API key (it has not seen it in the last minute); try again in a few seconds.`,
    REDIS_RETRY_AFTER_SECONDS,
  );
}

const HOW_TO_GET_A_KEY = 'Send "Authorization: Bearer <key>" (over WebSocket: {"authorization": "Bearer <key>"} in connection_init). An operator makes keys with `sift keys create --name NAME`.';

/** The error for a missing or wrong key. */
export function unauthenticated(why: string): SiftError {
  return userError(ErrorCodes.UNAUTHENTICATED, `${why} ${HOW_TO_GET_A_KEY}`);
}

/** The error for a key that lacks a scope. */
export function forbidden(principal: Principal, scope: Scope): SiftError {
  return userError(ErrorCodes.FORBIDDEN, `The API key "${principal.name}" does not have the ${scope} scope this needs; ask an operator for a key with it (sift keys create --scopes ${scope}).`, { scope });
}

/** Throws unless the principal has the scope. */
export function requireScope(principal: Principal, scope: Scope): void {
  if (!hasScope(principal, scope)) throw forbidden(principal, scope);
}

/**
 * Entries kept at most (a flood of wrong keys cannot grow the cache); past that the oldest goes,
 * so a server with more keys in use than this still answers most from the cache.
 */
const MAX_CACHED = 10_000;

/**
 * Turns the credentials a request carries into a principal, at the edge (HTTP middleware, the
 * WebSocket's connection_init). With auth off everyone is the local principal. Verified keys
 * are remembered briefly, by a hash of the key, so a busy client costs one Redis read per period.
 */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal | null; until: number; verifiedAt: number }>();
  private readonly cacheMs: number;
  private readonly maxCached: number;
  private readonly outageGraceMs: number;

  constructor(private readonly options: AuthenticatorOptions) {
    this.cacheMs = options.cacheMs ?? 2000;
    this.maxCached = options.maxCached ?? MAX_CACHED;
    this.outageGraceMs = options.outageGraceMs ?? OUTAGE_GRACE_MS;
  }

  get required(): boolean {
    return this.options.mode === 'keys';
  }

  /**
   * The principal for an `Authorization` value (HTTP header or connection_init payload field);
   * `clientAddress` is whose rate limits an unauthenticated (auth off) request counts against.
   */
  async authenticate(authorization: unknown, clientAddress?: string): Promise<Principal> {
    if (!this.required) return localPrincipal(clientAddress);
    if (typeof authorization !== 'string' || authorization.trim() === '') throw unauthenticated('This server needs an API key.');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization.trim());
    if (!match) throw unauthenticated('The Authorization value is not "Bearer <key>".');
    const principal = await this.verify(match[1]);
    if (!principal) throw unauthenticated('The API key is not valid (mistyped, or revoked).');
    return principal;
  }

  private async verify(key: string): Promise<Principal | null> {
    const id = createHash('sha256').update(key).digest('base64url');
    const now = Date.now();
    const known = this.cache.get(id);
    if (known && known.until > now) return known.principal;
    let principal: Principal | null;
    try {
      principal = await this.options.store.verify(key);
    } catch (error) {
      if (!isRedisOutage(error)) throw error;
      // A key this server verified lately stays trusted through the outage (a refused one stays refused).
      if (known && now - known.verifiedAt <= this.outageGraceMs) return known.principal;
      throw keysUnavailable();
    }
    // The map is in the order keys were verified, so its first entry expires first: that one goes.
    // (Clearing the whole cache instead sent every key to Redis again once more than MAX_CACHED
    // were in use.)
    this.cache.delete(id);
    while (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, { principal, until: now + this.cacheMs, verifiedAt: now });
    return principal;
  }
}
