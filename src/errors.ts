/**
 * Every error Sift shows a user carries a stable code. The GraphQL layer maps `userError` codes to
 * `BAD_USER_INPUT`; HTTP routes map them to 4xx statuses. Anything that is not a `SiftError` is an
 * internal error, and its message never reaches a client outside development.
 */
export const ErrorCodes = {
  /** A text, model name or option a caller sent is wrong. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** The text is empty or only whitespace. */
  EMPTY_TEXT: 'EMPTY_TEXT',
  /** The text is longer than the model's `maxTextLength`. */
  TEXT_TOO_LONG: 'TEXT_TOO_LONG',
  /** No model of that name is loaded. */
  UNKNOWN_MODEL: 'UNKNOWN_MODEL',
  /** A list is empty or longer than its configured limit. */
  BAD_LIST_SIZE: 'BAD_LIST_SIZE',
  /** A batch's input has no rows. */
  EMPTY_INPUT: 'EMPTY_INPUT',
  /** The header lacks the text (or id) column named in the options. */
  MISSING_COLUMN: 'MISSING_COLUMN',
  /** The text or id column's name appears more than once in a CSV header: which one is meant is not known. */
  DUPLICATE_COLUMN: 'DUPLICATE_COLUMN',
  /** A CSV document that cannot be parsed. */
  MALFORMED_CSV: 'MALFORMED_CSV',
  /** A JSON Lines line that is not a JSON object. */
  MALFORMED_JSON: 'MALFORMED_JSON',
  /** Input bytes that are not UTF-8. */
  NOT_UTF8: 'NOT_UTF8',
  /** Options of a batch that do not fit together (e.g. both or neither of texts and csv). */
  BAD_BATCH_OPTIONS: 'BAD_BATCH_OPTIONS',
  /** An idempotency key used again for a batch with other content (HTTP 409). */
  IDEMPOTENCY_CONFLICT: 'IDEMPOTENCY_CONFLICT',
  /**
   * The first submit with this idempotency key has made no batch yet: still reading its input, or
   * it ended without one (HTTP 409 with Retry-After). The same request again gets its batch, or
   * submits it.
   */
  FIRST_SUBMIT_PENDING: 'FIRST_SUBMIT_PENDING',
  /** More rows than the inline limit. */
  TOO_MANY_ROWS: 'TOO_MANY_ROWS',
  /** An upload whose Content-Type Sift does not read (HTTP 415). */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** An upload larger than `SIFT_MAX_UPLOAD_BYTES` (HTTP 413). */
  UPLOAD_TOO_LARGE: 'UPLOAD_TOO_LARGE',
  /**
   * A row of an upload longer than `SIFT_MAX_ROW_BYTES`: a line (CSV or JSON Lines), or a CSV record
   * whose quoted fields span lines. Refused as soon as the limit is passed, naming the line.
   */
  ROW_TOO_LARGE: 'ROW_TOO_LARGE',
  /** A row whose id has more than 1,000 characters (see row-bounds.ts); the batch is not created. */
  ID_TOO_LONG: 'ID_TOO_LONG',
  /**
   * The key already has `SIFT_MAX_UPLOADS_PER_KEY` uploads in progress on this API process, or the
   * process `SIFT_MAX_UPLOADS` (HTTP 429 with Retry-After); the body is not read. Send it again later.
   */
  TOO_MANY_UPLOADS: 'TOO_MANY_UPLOADS',
  /** An upload that sent nothing for `SIFT_UPLOAD_IDLE_TIMEOUT_MS` (HTTP 408); it creates no batch. */
  UPLOAD_IDLE_TIMEOUT: 'UPLOAD_IDLE_TIMEOUT',
  /** A GraphQL request whose body had not all arrived `SIFT_GRAPHQL_BODY_TIMEOUT_MS` after it began (HTTP 408). */
  REQUEST_BODY_TIMEOUT: 'REQUEST_BODY_TIMEOUT',
  /** No batch has that id (or it expired). */
  UNKNOWN_BATCH: 'UNKNOWN_BATCH',
  /** An environment variable has a value Sift cannot use. */
  BAD_CONFIG: 'BAD_CONFIG',
  /** A model folder is missing a file or has a broken one. */
  BAD_MODEL: 'BAD_MODEL',
  /** The API cannot listen on its port (in use, or privileged). */
  PORT_IN_USE: 'PORT_IN_USE',
  /** Nothing answers at REDIS_URL, and no private Redis could be started. */
  REDIS_UNREACHABLE: 'REDIS_UNREACHABLE',
  /** No API key, or one that is not valid (HTTP 401; the WebSocket closes with 4401). */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** A valid key without the scope the request needs (HTTP 403). */
  FORBIDDEN: 'FORBIDDEN',
  /** Too many requests or rows for now (HTTP 429 with Retry-After). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** One request asks for more work than a request may (aliases, depth, texts): refused before any runs. */
  QUERY_TOO_LARGE: 'QUERY_TOO_LARGE',
  /** A request from a web page of another origin, or to a Host this server does not answer to (HTTP 403). */
  ORIGIN_NOT_ALLOWED: 'ORIGIN_NOT_ALLOWED',
  /** A request to a path (or method) no route answers (HTTP 404). */
  NOT_FOUND: 'NOT_FOUND',
  /** A request body over the limit of its route, e.g. a GraphQL request over its body limit (HTTP 413). */
  BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  /** An HTTP request that cannot be read at all (a body shorter than its Content-Length, a broken path) (HTTP 400). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** One WebSocket already runs as many operations as `SIFT_MAX_OPERATIONS_PER_SOCKET` allows; the new one is refused, the socket stays. */
  TOO_MANY_OPERATIONS: 'TOO_MANY_OPERATIONS',
  /** `cachedPrediction` is turned off on this server (`SIFT_CACHED_PREDICTION=off`). */
  CACHED_PREDICTION_OFF: 'CACHED_PREDICTION_OFF',
  /** `GET /` on a server whose web page was not built (HTTP 503). */
  WEB_APP_NOT_BUILT: 'WEB_APP_NOT_BUILT',
  /** Redis is away for now (restarting, unreachable): the request may succeed when retried (HTTP 503). */
  REDIS_UNAVAILABLE: 'REDIS_UNAVAILABLE',
  /** Redis refuses writes: it reached its `maxmemory` (with `noeviction`). An operator must act (HTTP 503). */
  REDIS_OUT_OF_MEMORY: 'REDIS_OUT_OF_MEMORY',
  /** The API is stopping (a deploy, a restart): an upload still being read is taken back; send it again (HTTP 503). */
  SERVER_STOPPING: 'SERVER_STOPPING',
  /** A batch's progress could not be read for a while; subscribe again (with `fromRow`) later. */
  PROGRESS_UNAVAILABLE: 'PROGRESS_UNAVAILABLE',
  /** A progress subscriber fell too far behind the rows; subscribe again with the `fromRow` given. */
  SUBSCRIBER_TOO_SLOW: 'SUBSCRIBER_TOO_SLOW',
  /** A subscription sent over HTTP: subscriptions run over the WebSocket (HTTP 400). */
  SUBSCRIPTION_NEEDS_WEBSOCKET: 'SUBSCRIPTION_NEEDS_WEBSOCKET',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class SiftError extends Error {
  /**
   * @param code stable machine-readable code
   * @param message what was wrong and how to fix it, in words a user can act on
   * @param userError true when the caller's input caused it (a 4xx, `BAD_USER_INPUT`)
   */
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly userError: boolean,
    readonly details: Record<string, unknown> = {},
    /** Set on errors that pass by themselves: how long a caller should wait before retrying. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'SiftError';
  }

  /**
   * What graphql-js copies onto the GraphQLError that wraps this one: the HTTP status (and
   * Retry-After) Apollo answers with for errors that concern the whole request, such as a missing
   * key or a rate limit. The client-facing extensions are made by the one error formatter.
   */
  get extensions(): Record<string, unknown> | undefined {
    const status = WHOLE_REQUEST_STATUS[this.code];
    if (status === undefined) return undefined;
    const headers = this.retryAfterSeconds === undefined ? undefined : new Map([['retry-after', String(this.retryAfterSeconds)]]);
    return { http: { status, ...(headers ? { headers } : {}) } };
  }
}

/** Errors about the request as a whole, with the HTTP status they answer with over GraphQL too. */
const WHOLE_REQUEST_STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.UNAUTHENTICATED]: 401,
  [ErrorCodes.FORBIDDEN]: 403,
  [ErrorCodes.ORIGIN_NOT_ALLOWED]: 403,
  [ErrorCodes.RATE_LIMITED]: 429,
};

/** Codes a GraphQL client sees as `extensions.code` itself (the others caused by input are BAD_USER_INPUT). */
export const TOP_LEVEL_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCodes.UNAUTHENTICATED,
  ErrorCodes.FORBIDDEN,
  ErrorCodes.ORIGIN_NOT_ALLOWED,
  ErrorCodes.RATE_LIMITED,
  ErrorCodes.QUERY_TOO_LARGE,
  ErrorCodes.TOO_MANY_OPERATIONS,
  ErrorCodes.CACHED_PREDICTION_OFF,
]);

/** An error in what a caller sent; answered as `BAD_USER_INPUT` / HTTP 400. */
export function userError(code: ErrorCode, message: string, details: Record<string, unknown> = {}, retryAfterSeconds?: number): SiftError {
  return new SiftError(code, message, true, details, retryAfterSeconds);
}

/** A start-up problem (configuration, model files) that should stop the process with its message. */
export function setupError(code: ErrorCode, message: string): SiftError {
  return new SiftError(code, message, false);
}

/** A passing fault (HTTP 503 with `Retry-After`): nothing was wrong with the request, try it again later. */
export function unavailableError(code: ErrorCode, message: string, retryAfterSeconds: number): SiftError {
  return new SiftError(code, message, false, {}, retryAfterSeconds);
}

export function isSiftError(error: unknown): error is SiftError {
  return error instanceof SiftError;
}

/** A passing fault, as unavailableError makes one (Redis away, the server stopping): no fault of the request's; try again after `retryAfterSeconds`. */
export function isPassingError(error: unknown): error is SiftError & { retryAfterSeconds: number } {
  return isSiftError(error) && !error.userError && error.retryAfterSeconds !== undefined;
}
