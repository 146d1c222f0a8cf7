import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Authenticator } from '../auth/authenticator';
import type { Principal } from '../auth/principal';
import { isPassingError, isSiftError } from '../errors';
import { modelTexts } from '../graphql/model-work';
import type { RateLimits } from '../limits/rate-limits';

/**
 * The door every GraphQL operation comes through, over HTTP and WebSocket alike: who is asking
 * (the key), whether it may ask now (requests a second), and, once the operation is known, how
 * many texts it sends to the models (texts a second). Refusals keep their code and HTTP status.
 */
export class GraphQLGate {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly limits: RateLimits,
    /** predictMany's own limit: a longer list is refused by its resolver and counts nothing here. */
    private readonly maxTextsPerField: number,
    /** Variables with more list items count nothing here: the query limits refuse them first (maxVariableListItems). */
    private readonly maxListItems: number,
  ) {}

  /** Whether callers must show a key (SIFT_AUTH=keys); with auth off everyone is the local principal. */
  get keysRequired(): boolean {
    return this.authenticator.required;
  }

  /** The principal of a connection (a WebSocket's connection_init): the key only. */
  identify(authorization: unknown, clientAddress: string | undefined): Promise<Principal> {
    return this.authenticator.authenticate(authorization, clientAddress);
  }

  /** One operation from `principal`: counts against its requests a second. */
  async operation(principal: Principal): Promise<void> {
    await this.limits.request(principal.rateKey);
  }

  /** The texts an operation would send to the models: count against its texts a second. */
  async modelWork(principal: Principal, schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): Promise<void> {
    await this.limits.modelTexts(principal.rateKey, modelTexts(schema, document, operationName, variables, this.maxTextsPerField, this.maxListItems));
  }
}

/**
 * A refusal at the door (no key, a rate limit, Redis away while the key is checked) as a
 * GraphQLError that carries its HTTP status and code, so Apollo answers 401, 429 or 503 (with
 * Retry-After) and graphql-ws sends the same code.
 */
export function asRefusal(error: unknown): unknown {
  if (!isSiftError(error)) return error;
  const retry = error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds };
  // Something that passes by itself (Redis away while the key is checked) stopped the whole
  // request: 503 with Retry-After, as the HTTP routes answer it, not a 500.
  const passing = isPassingError(error) ? { http: { status: 503, headers: new Map([['retry-after', String(error.retryAfterSeconds)]]) } } : {};
  return new GraphQLError(error.message, { extensions: { ...error.extensions, ...passing, code: error.code, reason: error.code, ...retry } });
}
