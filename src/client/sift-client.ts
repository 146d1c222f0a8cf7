import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
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

function unwrap<T>(result: FormattedExecutionResult<T, unknown>): T {
  if (result.errors?.length) throw new SiftRequestError(result.errors as unknown as SiftGraphQLError[]);
  return result.data as T;
}

/**
 * What graphql-ws ends a subscription with, as an Error: the server's GraphQL errors (an array) as
 * a SiftRequestError; a socket's error or close event as a SiftConnectionError.
 */
function subscriptionError(error: unknown, url: string): unknown {
  if (error instanceof SiftRequestError || error instanceof SiftConnectionError) return error;
  if (Array.isArray(error)) return new SiftRequestError(error as SiftGraphQLError[]);
  const event = error as { type?: unknown; code?: unknown; reason?: unknown; error?: { code?: unknown } };
  // A close event (ws's, or graphql-ws's own when it terminates a silent socket): a code and a reason.
  if (event && typeof event === 'object' && typeof event.code === 'number' && 'reason' in event) {
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

/**
 * The typed Sift client: runs the generated documents (src/client/generated) over HTTP, and over
 * graphql-ws for subscriptions. Give it the server's root or its GraphQL URL, as the server
 * prints it (http://localhost:4000, http://localhost:4000/graphql, or their ws:// forms).
 */
export class SiftClient {
  private ws?: Client;

  /** The server's root, e.g. http://localhost:4000: GraphQL is at `{baseUrl}/graphql`. */
  readonly baseUrl: string;

  /** Throws a ServerUrlError when `url` has no http(s):// or ws(s):// scheme or does not parse. */
  constructor(url: string) {
    this.baseUrl = serverRoot(url);
  }

  /** Runs a query or mutation over HTTP POST. */
  async request<T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables: V): Promise<T> {
    const response = await fetch(`${this.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: print(document), variables }),
    });
    return unwrap((await response.json()) as FormattedExecutionResult<T, unknown>);
  }

  /** Runs any operation over the WebSocket and collects every result it sends until it completes. */
  async collect<T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables: V): Promise<T[]> {
    const results: T[] = [];
    for await (const result of this.subscribe(document, variables)) results.push(result);
    return results;
  }

  /**
   * Runs a subscription over the WebSocket, yielding each result as it arrives. Ends with a
   * SiftRequestError when the server ends it with errors, and with a SiftConnectionError when the
   * socket fails or closes under it (it is not resent by itself: subscribe again, on batch
   * progress with `fromRow`, to carry on).
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
    // A ping every 10 s, and a socket that answers none within 5 s is ended: a silent network
    // drop then fails the subscription like a closed socket instead of leaving it waiting forever.
    let pongWait: NodeJS.Timeout | undefined;
    const ws = createClient({
      url: `${this.baseUrl.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 0,
      keepAlive: 10_000,
      on: {
        ping: (received) => {
          if (!received) pongWait = setTimeout(() => ws.terminate(), 5_000);
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
