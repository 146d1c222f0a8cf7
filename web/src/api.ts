import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';

/** A refusal or failure, in words for the person looking at the page. */
export class ApiError extends Error {
  constructor(message: string, readonly reason?: string) {
    super(message);
    this.name = 'ApiError';
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; reason?: string } }[];
}

const unreachable = () => new ApiError('The Sift server is not answering. Check that it is running (npm start), then try again.', 'UNREACHABLE');

function unwrap<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length) {
    const [first] = response.errors;
    throw new ApiError(first.message, first.extensions?.reason ?? first.extensions?.code);
  }
  return response.data as T;
}

/** Runs a query or mutation from the generated client over HTTP, on this page's own origin. */
export async function request<T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables: V): Promise<T> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: print(document), variables }),
    });
  } catch {
    throw unreachable();
  }
  return unwrap((await response.json()) as GraphQLResponse<T>);
}

let socket: Client | undefined;

/** Follows a subscription over graphql-ws; returns a function that stops it. */
export function subscribe<T, V extends Record<string, unknown>>(
  document: TypedDocumentNode<T, V>,
  variables: V,
  handlers: { next(value: T): void; error(error: ApiError): void; complete(): void },
): () => void {
  socket ??= createClient({ url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`, retryAttempts: 5 });
  return socket.subscribe<T>(
    { query: print(document), variables },
    {
      next: (result) => {
        try {
          handlers.next(unwrap(result as GraphQLResponse<T>));
        } catch (error) {
          handlers.error(error as ApiError);
        }
      },
      error: () => handlers.error(unreachable()),
      complete: handlers.complete,
    },
  );
}
