import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';

/**
 * A refusal or failure as the server reported it: its message, its stable reason (the precise code,
 * such as TEXT_TOO_LONG, else the general one) and any details it gave (such as the `index` of the
 * offending text). messages.ts turns it into words for the person looking at the page.
 */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly reason?: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string; reason?: string } & Record<string, unknown>;
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: GraphQLErrorBody[];
}

const unreachable = () => new ApiError('The Sift server is not answering. Check that it is running (npm start), then try again.', 'UNREACHABLE');

function apiError({ message, extensions = {} }: GraphQLErrorBody): ApiError {
  const { code, reason, ...details } = extensions;
  return new ApiError(message, reason ?? code, details);
}

function unwrap<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length) throw apiError(response.errors[0]);
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
  let body: GraphQLResponse<T>;
  try {
    body = (await response.json()) as GraphQLResponse<T>;
  } catch {
    throw new ApiError(`The server answered HTTP ${response.status} without a GraphQL answer.`, 'BAD_RESPONSE');
  }
  return unwrap(body);
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
      // The server refusing the subscription (an unknown batch, say) sends its GraphQL errors; a
      // closed or failed socket sends an event or an Error.
      error: (error: unknown) => handlers.error(Array.isArray(error) && error.length > 0 ? apiError(error[0] as GraphQLErrorBody) : unreachable()),
      complete: handlers.complete,
    },
  );
}
