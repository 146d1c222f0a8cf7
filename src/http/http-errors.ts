import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { ErrorCodes, isPassingError, isSiftError, userError, type ErrorCode, type SiftError } from '../errors';
import type { Logger } from '../logger';
import { asOutageError } from '../redis/outage';

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.UNSUPPORTED_MEDIA_TYPE]: 415,
  [ErrorCodes.UPLOAD_TOO_LARGE]: 413,
  [ErrorCodes.UNKNOWN_BATCH]: 404,
  [ErrorCodes.IDEMPOTENCY_CONFLICT]: 409,
  [ErrorCodes.FIRST_SUBMIT_PENDING]: 409,
  [ErrorCodes.UPLOAD_IDLE_TIMEOUT]: 408,
  [ErrorCodes.REQUEST_BODY_TIMEOUT]: 408,
  [ErrorCodes.UNAUTHENTICATED]: 401,
  [ErrorCodes.FORBIDDEN]: 403,
  [ErrorCodes.ORIGIN_NOT_ALLOWED]: 403,
  [ErrorCodes.RATE_LIMITED]: 429,
  [ErrorCodes.TOO_MANY_UPLOADS]: 429,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.BODY_TOO_LARGE]: 413,
};

/** Error codes of a connection the client closed or reset (Node's `aborted`, a broken pipe, a stream cut short). */
const CLIENT_GONE_CODES = new Set(['CLIENT_GONE', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/** The error of a request whose client closed the connection before Sift was done with it (see `isClientGone`). */
export function clientGone(message: string): Error {
  return Object.assign(new Error(message), { code: 'CLIENT_GONE' });
}

/**
 * Whether `error` only says that the client went away (it closed or reset the connection mid-upload
 * or mid-download): nothing is wrong with Sift, and there is no one left to answer.
 */
export function isClientGone(error: unknown, res: Response): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'CLIENT_GONE') return true;
  return code !== undefined && CLIENT_GONE_CODES.has(code) && (res.req.socket?.destroyed === true || res.req.destroyed);
}

/**
 * The HTTP routes' one way of answering an error: `{ "error": { "code", "message" } }` with a 4xx
 * for the caller's mistakes (the same codes and messages GraphQL gives), a 503 with `Retry-After`
 * for a passing fault (Redis away), and a 500 whose message reaches the client only in
 * development for anything else (logged at error with its stack: a fault). A client that went
 * away gets nothing, and is logged at info.
 */
export function sendError(res: Response, cause: unknown, logger: Logger, development: boolean): void {
  if (isClientGone(cause, res)) {
    // Expected, and no one to answer: one info line, no stack trace.
    logger.info(`${res.req.method} ${res.req.path}: the client went away (${(cause as Error).message})`, { clientGone: true });
    res.destroy();
    return;
  }
  const error = asOutageError(cause);
  let status = 500;
  let body = { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' };
  if (isSiftError(error) && error.userError) {
    status = STATUS_OF[error.code] ?? 400;
    body = { code: error.code, message: error.message, ...error.details };
    if (error.retryAfterSeconds !== undefined && !res.headersSent) res.setHeader('Retry-After', String(error.retryAfterSeconds));
    if (error.code === ErrorCodes.UNAUTHENTICATED && !res.headersSent) res.setHeader('WWW-Authenticate', 'Bearer realm="sift"');
  } else if (isPassingError(error)) {
    status = 503;
    body = { code: error.code, message: error.message };
    // Not passing by itself: someone must make room in Redis (a Redis away is logged by the connections).
    if (error.code === ErrorCodes.REDIS_OUT_OF_MEMORY) logger.error(`${res.req.method} ${res.req.path}: refused, ${error.message}`);
    if (!res.headersSent) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  } else {
    logger.error(`${res.req.method} ${res.req.path} failed: ${(error as Error).message ?? String(error)}`, { err: error });
    if (development) body.message = (error as Error).message;
  }
  if (res.headersSent) {
    // Part of a download went out already: cutting the connection is the only honest signal left.
    res.destroy();
    return;
  }
  res.status(status).json({ error: body });
}

/**
 * Before `express.json` on the GraphQL route: a body still arriving `ms` after its request began
 * is answered 408 REQUEST_BODY_TIMEOUT and its connection closed. A GraphQL body is at most the
 * body limit (a few MB) and is sent at once by any client; without this bound a client could
 * hold a connection, and the parser's buffer, by sending its body a byte at a time. Uploads
 * (POST /batches) stream for as long as they keep sending and have their own idle limit instead.
 */
export function bodyDeadline(ms: number, logger: Logger, development: boolean): RequestHandler {
  return (req, res, next) => {
    // A request with neither header has no body (a GET): nothing to wait for.
    if (req.complete || (req.headers['transfer-encoding'] === undefined && Number(req.headers['content-length'] ?? 0) === 0)) return next();
    const timer = setTimeout(() => {
      if (req.complete) return;
      if (!res.headersSent) {
        res.setHeader('Connection', 'close');
        sendError(
          res,
          userError(ErrorCodes.REQUEST_BODY_TIMEOUT, `The request body had not all arrived ${ms} ms after the request began, the most SIFT_GRAPHQL_BODY_TIMEOUT_MS allows; send the body at once, as GraphQL clients do.`),
          logger,
          development,
        );
      }
      // The connection ends once the answer is out, whoever gave it: the parser still waits for the
      // rest, and a request answered without its body being read (Apollo refuses a text/plain one
      // at once) would otherwise keep the connection while its client sends a byte at a time.
      if (res.writableFinished) req.socket.destroy();
      else res.once('finish', () => req.socket.destroy());
    }, ms);
    const settled = () => clearTimeout(timer);
    req.once('end', settled);
    req.once('close', settled);
    next();
  };
}

/** What Express's body parser (`express.json`, on the GraphQL route) and router pass on when a request cannot be read. */
interface HttpError extends Error {
  status?: number;
  type?: string;
  expose?: boolean;
  limit?: number;
  charset?: string;
  encoding?: string;
}

/** A GraphQL request body over `limit` bytes (express.json's limit on the GraphQL route). */
function bodyTooLarge(limit: number): SiftError {
  return userError(
    ErrorCodes.BODY_TOO_LARGE,
    `The request body is larger than ${limit} bytes, the most one GraphQL request may send (the room SIFT_MAX_TEXTS_PER_REQUEST texts of the longest length a model takes need). Send fewer or shorter texts a request, or label them as a batch: POST /batches takes a file of any size.`,
  );
}

/**
 * Before `express.json({ limit })`: a body whose Content-Length is over the limit is refused
 * before any of it is read (express.json reads a body it refuses to the end first), and its
 * connection closed.
 */
export function refuseDeclaredBodyOver(limit: number): RequestHandler {
  return (req, _res, next) => next(Number(req.headers['content-length'] ?? 0) > limit ? bodyTooLarge(limit) : undefined);
}

const shortened = (text: string, most = 200) => (text.length > most ? `${text.slice(0, most)}…` : text);

/**
 * A failure Express or its body parser raised before any route ran, as the Sift error the client
 * gets, with a message that says how to fix the request; null for anything else (a 500).
 */
function requestError(error: HttpError): SiftError | null {
  const status = error.status ?? 500;
  if (status < 400 || status > 499) return null;
  switch (error.type) {
    case 'entity.too.large':
      return bodyTooLarge(error.limit ?? 0);
    case 'entity.parse.failed':
      return userError(
        ErrorCodes.MALFORMED_JSON,
        `The request body is not valid JSON (${shortened(error.message)}). Send a JSON object such as {"query": "{ models { name } }"} with Content-Type application/json.`,
      );
    case 'charset.unsupported':
      return userError(
        ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
        `The request declares charset=${shortened(String(error.charset ?? '?').toLowerCase(), 40)}; Sift reads JSON in UTF-8 only. Send it as UTF-8, with charset=utf-8 or no charset.`,
      );
    case 'encoding.unsupported':
      return userError(
        ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
        `The request body has Content-Encoding ${shortened(String(error.encoding ?? '?'), 40)}, which Sift does not read; send it uncompressed, or as gzip, deflate or br.`,
      );
    default:
      return userError(ErrorCodes.BAD_REQUEST, `The request could not be read: ${shortened(error.expose === false ? 'bad request' : error.message)}.`);
  }
}

/** Last but one: a request no route answered is a JSON 404 `NOT_FOUND`, never an HTML page. */
export function notFound(): RequestHandler {
  return (req: Request, _res, next) =>
    next(
      userError(
        ErrorCodes.NOT_FOUND,
        `Nothing here answers ${req.method} ${shortened(req.path)}. Sift answers GraphQL at /graphql (POST, and WebSocket), batches at /batches, /healthz, /readyz and /metrics, and its web page at /.`,
      ),
    );
}

/**
 * Last: every error that reaches Express (a body too large or not JSON, a wrong charset, a Host
 * refused, a 404) is answered as the routes answer theirs, `{"error":{"code","message"}}`, never
 * with Express's HTML page. A request refused before its body was read is answered and closed,
 * rather than read to the end for nothing.
 */
export function errorHandler(logger: Logger, development: boolean): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    // The parser giving up on a body after bodyDeadline answered and closed the connection: no
    // one to tell, and nothing wrong with Sift. (Any other error after an answer is still logged.)
    if (res.writableEnded && (error as HttpError).type === 'request.aborted') return;
    const known = isSiftError(error) ? error : requestError(error as HttpError);
    if (!req.complete && !res.headersSent) res.setHeader('Connection', 'close');
    sendError(res, known ?? error, logger, development);
  };
}
