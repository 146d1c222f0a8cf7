import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

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

function unwrap<T>(result: FormattedExecutionResult<T, unknown>): T {
  if (result.errors?.length) throw new SiftRequestError(result.errors as unknown as SiftGraphQLError[]);
  return result.data as T;
}

/**
 * The typed Sift client: runs the generated documents (src/client/generated) over HTTP, and over
 * graphql-ws for subscriptions. `baseUrl` is the server's root, e.g. http://localhost:4000.
 */
export class SiftClient {
  private ws?: Client;

  constructor(readonly baseUrl: string) {}

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
    for await (const result of this.socket().iterate<T>({ query: print(document), variables })) results.push(unwrap(result));
    return results;
  }

  /** Runs a subscription over the WebSocket, yielding each result as it arrives. */
  async *subscribe<T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables: V): AsyncGenerator<T> {
    for await (const result of this.socket().iterate<T>({ query: print(document), variables })) yield unwrap(result);
  }

  private socket(): Client {
    this.ws ??= createClient({ url: `${this.baseUrl.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
    return this.ws;
  }

  async close(): Promise<void> {
    await this.ws?.dispose();
  }
}
