import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line written while one HTTP request is handled carries. */
export interface RequestContext {
  /** The request's id: its `x-request-id` header when it sent a sane one, else one made for it. */
  requestId: string;
}

/**
 * The request being handled, if any: set by the request-id middleware (`request-ids.ts`) around
 * the rest of the request's handling, read by the logger for each line. Nothing threads it
 * through the services: a batch submitted by a request logs its request id by itself.
 */
export const requestContext = new AsyncLocalStorage<RequestContext>();

/** The id of the request being handled, or undefined outside one. */
export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}
