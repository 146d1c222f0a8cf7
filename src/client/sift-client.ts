import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { FormattedExecutionResult } from 'graphql';
// The printer alone: graphql's index loads its whole validator and executor too, a quarter of the
// command line's start (40 of its 180 ms before it sends anything).
import { print } from 'graphql/language/printer';
// graphql-ws's client alone: its index loads its server too, and graphql with it. Loaded with ws
// on the first subscription (socket()), not with this module: requests over HTTP need neither,
// and `sift batch` sent its upload 10 to 15 ms later for loading them first.
import type { Client } from 'graphql-ws/client';
import { serverRoot } from './server-url';

/** A GraphQL error as a Sift server sends it. */
export interface SiftGraphQLError {
  message: string;
  extensions?: { code?: string; reason?: string; [key: string]: unknown };
}

/** Raised when the server answers with errors; the first one's message and codes are kept. */
export class SiftRequestError extends Error {
  constructor(readonly errors: SiftGraphQLError[]) {
    super(errors.map((e) => e.message).join('; '));
    this.name = 'SiftRequestError';
  }

  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }

  get reason(): string | undefined {
    return this.errors[0]?.extensions?.reason;
  }
}

/**
 * Raised when the WebSocket to the server could not open or closed under a subscription (the
 * server stopped or restarted, the network dropped): nothing was refused, so subscribing again
 * later may work. A subscription on batch progress resumes with `fromRow`.
 */
export class SiftConnectionError extends Error {
  constructor(
    message: string,
    /** The socket error's code (ECONNREFUSED, ...) when there was one. */
    readonly code?: string,
    /** The WebSocket close code when the socket closed (1006: closed without a goodbye). */
    readonly closeCode?: number,
  ) {
    super(message);
    this.name = 'SiftConnectionError';
  }
}

/**
 * Raised when what answered at the server's URL is not a GraphQL server: its answer is JSON but no
 * GraphQL result (neither `data` nor `errors`), such as a worker's metrics port. The URL is wrong.
 */
export class SiftProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SiftProtocolError';
  }
}

/** Whether a parsed answer is a GraphQL result: an object with `data` or a list of `errors`. */
function isExecutionResult(body: unknown): boolean {
  return typeof body === 'object' && body !== null && ('data' in body || Array.isArray((body as { errors?: unknown }).errors));
}

/** The codes a server refuses a request with for who is asking, rather than for what was asked. */
const AUTH_CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN']);

/**
 * Raised when the server refuses the API key: `code` UNAUTHENTICATED when there was none or it is
 * not valid (mistyped, revoked; HTTP 401, WebSocket close code 4401), FORBIDDEN when the key lacks
 * the scope the operation needs (HTTP 403; the message names the scope). Trying again with the
 * same key will not help. A SiftRequestError too, so code that reads `code` keeps working.
 */
export class SiftAuthError extends SiftRequestError {
  constructor(
    errors: SiftGraphQLError[],
    /** The HTTP status when the refusal came over HTTP (401, 403). */
    readonly status?: number,
    /** The WebSocket close code when the server closed the socket for it (4401). */
    readonly closeCode?: number,
  ) {
    super(errors);
    this.name = 'SiftAuthError';
  }

  override get code(): 'UNAUTHENTICATED' | 'FORBIDDEN' {
    return super.code as 'UNAUTHENTICATED' | 'FORBIDDEN';
  }
}

/** The server's GraphQL errors as the error to throw: a SiftAuthError for a refused key, else a SiftRequestError. */
function requestError(errors: SiftGraphQLError[], status?: number): SiftRequestError {
  return AUTH_CODES.has(errors[0]?.extensions?.code ?? '') ? new SiftAuthError(errors, status) : new SiftRequestError(errors);
}

function unwrap<T>(result: FormattedExecutionResult<T, unknown>, status?: number): T {
  if (result.errors?.length) throw requestError(result.errors as unknown as SiftGraphQLError[], status);
  return result.data as T;
}

/** What a Sift server closes a WebSocket with when connection_init carries no valid key (graphql-ws's Unauthorized). */
export const UNAUTHORIZED_CLOSE_CODE = 4401;
/** What graphql-ws closes a socket with when the server refused the connection (its Forbidden). */
const FORBIDDEN_CLOSE_CODE = 4403;

// Keys are sent as HTTP header values: one token, printable ASCII, no spaces.
const KEY_SHAPE = /^[\x21-\x7e]+$/;

/**
 * What graphql-ws ends a subscription with, as an Error: the server's GraphQL errors (an array) as
 * a SiftRequestError (a SiftAuthError for FORBIDDEN and UNAUTHENTICATED); the socket closed with
 * 4401 (no valid key) or 4403 as a SiftAuthError; any other socket error or close event as a
 * SiftConnectionError.
 */
function subscriptionError(error: unknown, url: string): unknown {
  if (error instanceof SiftRequestError || error instanceof SiftConnectionError) return error;
  if (Array.isArray(error)) return requestError(error as SiftGraphQLError[]);
  const event = error as { type?: unknown; code?: unknown; reason?: unknown; error?: { code?: unknown } };
  // A close event (ws's, or graphql-ws's own when it terminates a silent socket): a code and a reason.
  if (event && typeof event === 'object' && typeof event.code === 'number' && 'reason' in event) {
    if (event.code === UNAUTHORIZED_CLOSE_CODE || event.code === FORBIDDEN_CLOSE_CODE) {
      // The server's reason without its "Unauthorized: " (cut short at times: a close reason holds 123 bytes).
      const said = typeof event.reason === 'string' ? event.reason.replace(/^(Unauthorized|Forbidden): /, '') : '';
      const code = event.code === UNAUTHORIZED_CLOSE_CODE ? 'UNAUTHENTICATED' : 'FORBIDDEN';
      const message = `The server at ${url} refused the WebSocket (close code ${event.code})${said ? `: ${said}` : ': the API key is missing or not valid.'}`;
      return new SiftAuthError([{ message, extensions: { code } }], undefined, event.code);
    }
    const reason = typeof event.reason === 'string' && event.reason !== '' ? `: ${event.reason}` : '';
    return new SiftConnectionError(`The connection to ${url} closed (code ${event.code}${reason}).`, undefined, event.code);
  }
  if (event && typeof event === 'object' && event.type === 'error') {
    const code = typeof event.error?.code === 'string' ? event.error.code : undefined;
    return new SiftConnectionError(`Could not connect to ${url}${code ? ` (${code})` : ''}.`, code);
  }
  const code = (error as { code?: unknown })?.code;
  if (error instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code)) return new SiftConnectionError(`Could not connect to ${url} (${code}).`, code);
  return error;
}

/** How a SiftClient talks to its server. */
export interface SiftClientOptions {
  /**
   * An API key (`sift_...`, made by `sift keys create`), for a server that runs with
   * `SIFT_AUTH=keys`: sent as `Authorization: Bearer <key>` on every HTTP request and as
   * `{"authorization": "Bearer <key>"}` in the WebSocket's connection_init. Without one, a server
   * that needs keys refuses every request with a SiftAuthError. @defaultValue none
   */
  apiKey?: string;
}

/**
 * The typed Sift client: runs the generated documents (src/client/generated) over HTTP, and over
 * graphql-ws for subscriptions. Give it the server's root or its GraphQL URL, as the server
 * prints it (http://localhost:4000, http://localhost:4000/graphql, or their ws:// forms), and
 * its API key when the server needs one: `new SiftClient(url, { apiKey })`.
 */
export class SiftClient {
  private ws?: Client;
  private readonly authorization?: string;

  /** The server's root, e.g. http://localhost:4000: GraphQL is at `{baseUrl}/graphql`. */
  readonly baseUrl: string;

  /**
   * Throws a ServerUrlError when `url` has no http(s):// or ws(s):// scheme or does not parse, and
   * a TypeError when `apiKey` is empty or holds spaces or control characters (the message never
   * repeats the key).
   */
  constructor(url: string, options: SiftClientOptions = {}) {
    this.baseUrl = serverRoot(url);
    if (options.apiKey !== undefined) {
      if (typeof options.apiKey !== 'string' || !KEY_SHAPE.test(options.apiKey)) {
        throw new TypeError('SiftClient: apiKey must be the key as sift keys create printed it: one word, without spaces or line breaks.');
      }
      this.authorization = `Bearer ${options.apiKey}`;
    }
  }

  /** Whether this client sends an API key. */
  get hasApiKey(): boolean {
    return this.authorization !== undefined;
  }

  /** Runs a query or mutation over HTTP POST. */
  async request<T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables: V): Promise<T> {
    const response = await this.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: print(document), variables }),
    });
    let body: FormattedExecutionResult<T, unknown>;
    try {
      body = (await response.json()) as FormattedExecutionResult<T, unknown>;
    } catch (error) {
      // A refusal without Sift's JSON (a proxy in front, say) is still a refusal of the key.
      throw authErrorOf(response.status, null) ?? error;
    }
    if (!isExecutionResult(body)) {
      // Sift's own routes answer a wrong path with {"error": {code, message}}, whose message says where GraphQL is.
      const routeError = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      if (typeof routeError?.message === 'string') throw new SiftRequestError([{ message: routeError.message, extensions: { code: String(routeError.code ?? 'BAD_REQUEST') } }]);
      throw new SiftProtocolError(`${this.baseUrl}/graphql answered HTTP ${response.status} with JSON that is no GraphQL result (neither data nor errors)`);
    }
    return unwrap(body, response.status);
  }

  /**
   * A plain HTTP request to one of the server's routes (`/batches`, `/batches/{id}/results.csv`,
   * ...), with the API key's Authorization header added: for uploads and downloads, which are not
   * GraphQL. `path` starts with `/`; the answer is returned as it is, whatever its status
   * (`authErrorOf` reads a refused key from it).
   */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.authorization !== undefined) headers.set('authorization', this.authorization);
    return fetch(`${this.baseUrl}${path}`, { ...init, headers });
  }

  /** Runs any operation over the WebSocket and collects every result it sends until it completes. */
  async collect<T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables: V): Promise<T[]> {
    const results: T[] = [];
    for await (const result of this.subscribe(document, variables)) results.push(result);
    return results;
  }

  /**
   * Runs a subscription over the WebSocket, yielding each result as it arrives. Ends with a
   * SiftRequestError when the server ends it with errors (a SiftAuthError when it refuses the
   * key: the socket closed with 4401, or a key without the scope), and with a
   * SiftConnectionError when the socket fails or closes under it (it is not resent by itself:
   * subscribe again, on batch progress with `fromRow`, to carry on).
   */
  async *subscribe<T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables: V): AsyncGenerator<T> {
    try {
      for await (const result of this.socket().iterate<T>({ query: print(document), variables })) yield unwrap(result);
    } catch (error) {
      throw subscriptionError(error, this.baseUrl);
    }
  }

  private socket(): Client {
    if (this.ws) return this.ws;
    // A ping every 10 s, and a socket that answers none within 20 s is ended: a silent network
    // drop then fails the subscription like a closed socket instead of leaving it waiting forever.
    // (5 s ended live sockets of a server busy serving a thousand subscribers on two cores.)
    let pongWait: NodeJS.Timeout | undefined;
    const { createClient } = require('graphql-ws/client') as typeof import('graphql-ws/client');
    const WebSocket = require('ws') as typeof import('ws');
    const ws = createClient({
      url: `${this.baseUrl.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      // The key goes once per socket, in connection_init; a server that refuses it closes with 4401.
      connectionParams: this.authorization === undefined ? undefined : { authorization: this.authorization },
      lazy: true,
      retryAttempts: 0,
      keepAlive: 10_000,
      on: {
        ping: (received) => {
          if (!received) pongWait = setTimeout(() => ws.terminate(), 20_000);
        },
        pong: (received) => {
          if (received) clearTimeout(pongWait);
        },
        closed: () => clearTimeout(pongWait),
      },
    });
    this.ws = ws;
    return ws;
  }

  async close(): Promise<void> {
    await this.ws?.dispose();
  }
}

/**
 * The answer of one of the server's HTTP routes (`status`, and its JSON `body` when it had one) as
 * a SiftAuthError when it refuses the key: a body whose `error.code` is UNAUTHENTICATED or
 * FORBIDDEN, or a 401 or 403 without Sift's JSON (a proxy in front). Null for any other answer.
 */
export function authErrorOf(status: number, body: { error?: { code?: string; message?: string } } | null): SiftAuthError | null {
  const given = body?.error?.code;
  if (given !== undefined && AUTH_CODES.has(given)) return new SiftAuthError([{ message: body?.error?.message ?? given, extensions: { code: given } }], status);
  if (body?.error === undefined && (status === 401 || status === 403)) {
    const code = status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN';
    const message = status === 401 ? `The server answered ${status}: it needs a valid API key.` : `The server answered ${status}: the API key may not do this.`;
    return new SiftAuthError([{ message, extensions: { code } }], status);
  }
  return null;
}
