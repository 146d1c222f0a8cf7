/**
 * Who is asking: the API key a request carried, or everyone when auth is off. Services take a
 * principal where ownership matters and never read headers; the edge (HTTP middleware, the
 * WebSocket's connection_init) turns a key into one. No imports, so the web page can bundle it.
 */

/**
 * What a key may do: `predict` (predictions and models), `batches` (its own batches), `priority`
 * (its batches may be HIGH, ahead of every other key's NORMAL ones), `admin` (everything: every
 * batch, metrics).
 */
export const SCOPES = ['predict', 'batches', 'priority', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  /** The key's id; `local` when auth is off. Batches belong to it. */
  keyId: string;
  /** The key's name, for logs. */
  name: string;
  scopes: readonly Scope[];
  /** Whose rate limits a request counts against: the key, or (auth off) the client's address. */
  rateKey: string;
}

/** Everyone, when `SIFT_AUTH=off`: one owner for every batch, every scope; rate limits per client address. */
export function localPrincipal(clientAddress: string | undefined): Principal {
  return { keyId: 'local', name: 'local (auth off)', scopes: SCOPES, rateKey: `address:${clientAddress ?? 'unknown'}` };
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes(scope) || principal.scopes.includes('admin');
}

/** Whether the principal sees every batch, not only its own. */
export function seesAllBatches(principal: Principal): boolean {
  return principal.scopes.includes('admin');
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
