import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { apiKey } from './api-key';

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

/**
 * A request sent with the key `sent` was answered 401 (UNAUTHENTICATED): the page asks for a key
 * (api-key.ts), and the caller gets the refusal as an ApiError.
 */
export function keyRefused(sent: string | null, message: string): ApiError {
  apiKey.refused(sent, message);
  return new ApiError(message, 'UNAUTHENTICATED');
}

/**
 * Runs a query or mutation from the generated client over HTTP, on this page's own origin, with
 * the API key when the page holds one.
 */
export async function request<T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables: V): Promise<T> {
  const sent = apiKey.key;
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...apiKey.headers(sent) },
      body: JSON.stringify({ query: print(document), variables }),
    });
  } catch {
    throw unreachable();
  }
  let body: GraphQLResponse<T>;
  try {
    body = (await response.json()) as GraphQLResponse<T>;
  } catch {
    if (response.status === 401) throw keyRefused(sent, 'This server needs an API key.');
    throw new ApiError(`The server answered HTTP ${response.status} without a GraphQL answer.`, 'BAD_RESPONSE');
  }
  const first = body.errors?.[0];
  if (response.status === 401 || first?.extensions?.code === 'UNAUTHENTICATED') throw keyRefused(sent, first?.message ?? 'This server needs an API key.');
  return unwrap(body);
}
