import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { ApiError, apiError, keyRefused, type GraphQLErrorBody } from './api';
import { apiKey, UNAUTHORIZED_CLOSE_CODE } from './api-key';

/** What a live subscription tells the page. */
export interface LiveHandlers<T> {
  /** A result; `fresh` is true for the first one of each (re)subscription (a snapshot). */
  next(value: T, fresh: boolean): void;
  /** The connection dropped (or the server asked to come back later): the subscription is being made again. */
  reconnecting(): void;
  /**
   * The server refused the subscription (an unknown batch, a key without the scope; a socket closed
   * for want of a valid key, after which the page asks for one): it is not made again.
   */
  error(error: ApiError): void;
  /** The subscription ended as the server meant it to. */
  complete(): void;
}

export interface LiveOptions<T> {
  /**
   * Whether a completion after `last` is the end the server meant: a server shutting down also
   * completes its subscriptions, and those are made again.
   */
  ended(last: T | null): boolean;
  /** First wait before subscribing again, doubling up to `maxDelayMs`. */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/** Errors after which the same subscription (with its variables as they are by then) may work. */
const PASSING = new Set(['REDIS_UNAVAILABLE', 'PROGRESS_UNAVAILABLE', 'SUBSCRIBER_TOO_SLOW']);

const socketUrl = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;

/** A WebSocket close event (the browser's CloseEvent, as graphql-ws hands it on). */
function closeCode(error: unknown): number | null {
  const event = error as { code?: unknown; reason?: unknown } | null;
  return event && typeof event === 'object' && typeof event.code === 'number' && 'reason' in event ? event.code : null;
}

/**
 * Follows a subscription over graphql-ws and makes it again, with backoff (1 s doubling to 10 s,
 * for as long as the page follows it), when the socket closes or fails (the API restarted, the
 * network dropped), when the server completes it before its end (it is shutting down), or when it
 * ends it with REDIS_UNAVAILABLE and the like (after the `retryAfterSeconds` it gives). Each
 * attempt takes its variables from `variables()` then, so a progress subscription resumes with
 * `fromRow` from the rows the page holds, and the API key the page holds then (every attempt
 * opens a socket of its own). A socket closed with 4401 (no valid key) is not made again: the
 * page asks for a key. graphql-ws's own retry is off: it would send the first variables again.
 * Returns a function that stops it.
 */
export function subscribeLive<T, V extends Record<string, unknown>>(
  document: TypedDocumentNode<T, V>,
  variables: () => V,
  handlers: LiveHandlers<T>,
  options: LiveOptions<T>,
): () => void {
  const firstDelayMs = options.firstDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  let delay = firstDelayMs;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let close = () => undefined as void;
  let last: T | null = null;

  const attempt = () => {
    if (stopped) return;
    let done = false;
    let fresh = true;
    const sent = apiKey.key;
    const client = socket(sent);
    const finish = () => {
      done = true;
      unsubscribe();
      void client.dispose();
    };
    const again = (waitMs = 0) => {
      if (done) return;
      finish();
      if (stopped) return;
      handlers.reconnecting();
      timer = setTimeout(attempt, Math.max(delay, waitMs));
      delay = Math.min(delay * 2, maxDelayMs);
    };
    const refused = (error: ApiError) => {
      if (done) return;
      if (error.reason && PASSING.has(error.reason)) return again(1000 * Number(error.details.retryAfterSeconds ?? 0));
      finish();
      handlers.error(error);
    };
    const unsubscribe = client.subscribe<T>(
      { query: print(document), variables: variables() },
      {
        next: (result) => {
          if (done) return;
          if (result.errors?.length) return refused(apiError(result.errors[0] as GraphQLErrorBody));
          delay = firstDelayMs;
          last = result.data as T;
          handlers.next(last, fresh);
          fresh = false;
        },
        // GraphQL errors come as an array; a socket that closed or failed as an event or an Error.
        error: (error: unknown) => {
          if (Array.isArray(error) && error.length > 0) return refused(apiError(error[0] as GraphQLErrorBody));
          if (closeCode(error) === UNAUTHORIZED_CLOSE_CODE) {
            if (done) return;
            finish();
            return handlers.error(keyRefused(sent, String((error as { reason: unknown }).reason) || 'This server needs an API key.'));
          }
          again();
        },
        complete: () => {
          if (done) return;
          if (!options.ended(last)) return again();
          finish();
          handlers.complete();
        },
      },
    );
    close = finish;
  };

  attempt();
  return () => {
    stopped = true;
    clearTimeout(timer);
    close();
  };
}

/**
 * A socket of the subscription's own, without graphql-ws's retries, with the API key `key` (when
 * the page holds one) in connection_init. It pings every 10 s and a socket that answers none
 * within 5 s is ended: a silent network drop then counts as a closed socket.
 */
function socket(key: string | null): Client {
  let pongWait: ReturnType<typeof setTimeout> | undefined;
  const client: Client = createClient({
    url: socketUrl(),
    connectionParams: key === null ? undefined : { authorization: `Bearer ${key}` },
    lazy: true,
    retryAttempts: 0,
    keepAlive: 10_000,
    on: {
      ping: (received) => {
        if (!received) pongWait = setTimeout(() => client.terminate(), 20_000);
      },
      pong: (received) => {
        if (received) clearTimeout(pongWait);
      },
      closed: () => clearTimeout(pongWait),
    },
  });
  return client;
}
