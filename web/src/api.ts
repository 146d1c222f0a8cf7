import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

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

/** A GraphQL error as the server sends it. */
export interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string; reason?: string } & Record<string, unknown>;
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: GraphQLErrorBody[];
}

const unreachable = () => new ApiError('The Sift server is not answering. Check that it is running (npm start), then try again.', 'UNREACHABLE');

/** A GraphQL error as an ApiError: its reason (the precise code, else the general one) and details. */
export function apiError({ message, extensions = {} }: GraphQLErrorBody): ApiError {
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
