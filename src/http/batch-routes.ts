import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import { BATCH_PRIORITIES, priorityNamed } from '../batches/batch-priority';
import type { BatchService, UploadFormat, UploadOptions } from '../batches/batch-service';
import { unknownBatch, type BatchSnapshot } from '../batches/batch-types';
import { quoteInput, shortened } from '../batches/quote-input';
import { rowLimited } from '../batches/row-limit';
import { columnList } from '../batches/row-sources';
import { ErrorCodes, isSiftError, unavailableError, userError, type SiftError } from '../errors';
import type { Logger } from '../logger';
import type { Authenticator } from '../auth/authenticator';
import type { UploadSlots } from '../limits/upload-slots';
import { seesAllBatches } from '../auth/principal';
import { authenticate, KEY_RECHECK_MS, principalOf, recheckWhileStreaming } from './authentication';
import { clientGone, sendError } from './http-errors';
import { HTTP_DRAIN_GRACE_MS } from './api-server';
import { continueBody } from './expect-continue';
import { drainRefusedUpload } from './refused-upload';

export interface BatchRoutesOptions {
  batches: BatchService;
  /** Largest upload, in bytes (`SIFT_MAX_UPLOAD_BYTES`). */
  maxUploadBytes: number;
  /** Longest row (line) of an upload, in bytes (`SIFT_MAX_ROW_BYTES`). */
  maxRowBytes: number;
  /** How long an upload may send nothing before it is ended, in ms (`SIFT_UPLOAD_IDLE_TIMEOUT_MS`). */
  uploadIdleTimeoutMs: number;
  /** Uploads read at once, per key and in all (`SIFT_MAX_UPLOADS_PER_KEY`, `SIFT_MAX_UPLOADS`). */
  uploads: UploadSlots;
  /** Who is asking: every route needs the `batches` scope, and sees only its own batches. */
  authenticator: Authenticator;
  logger: Logger;
  development: boolean;
  /**
   * Aborted when the server stops: downloads that follow a batch end then (their clients download
   * again from another server), and refused uploads stop lingering (refused-upload.ts).
   */
  stopping: AbortSignal;
}

const FORMAT_OF_MEDIA_TYPE: Record<string, UploadFormat> = {
  'text/csv': 'csv',
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
};

const UPLOAD_PARAMETERS = ['textColumn', 'textColumns', 'idColumn', 'model', 'idempotencyKey', 'priority'] as const;

function uploadFormat(req: Request): UploadFormat {
  // A compressed body would be read as text (gzip: NOT_UTF8, "save the file as UTF-8"; an
  // encoding whose bytes happen to be UTF-8 was read as it was): refused, saying what to send.
  const encoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    throw userError(ErrorCodes.UNSUPPORTED_MEDIA_TYPE, `The upload has Content-Encoding ${shortened(encoding)}; Sift reads uploads uncompressed. Send the file as it is, without Content-Encoding.`);
  }
  const [mediaType, ...parameters] = (req.headers['content-type'] ?? '').split(';').map((part) => part.trim().toLowerCase());
  const format = FORMAT_OF_MEDIA_TYPE[mediaType];
  if (!format) {
    const got = mediaType ? `Content-Type ${shortened(mediaType)}` : 'no Content-Type';
    throw userError(ErrorCodes.UNSUPPORTED_MEDIA_TYPE, `The upload has ${got}; send a CSV file as text/csv or JSON Lines as application/x-ndjson.`);
  }
  const charset = parameters.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    throw userError(ErrorCodes.UNSUPPORTED_MEDIA_TYPE, `The upload declares charset=${shortened(charset)}; Sift reads UTF-8 only. Convert the file to UTF-8 and send it with charset=utf-8 or none.`);
  }
  return format;
}

function uploadOptions(req: Request, format: UploadFormat): UploadOptions {
  const query = req.query as Record<string, unknown>;
  const unknown = Object.keys(query).filter((name) => !(UPLOAD_PARAMETERS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw userError(ErrorCodes.BAD_BATCH_OPTIONS, `Unknown query parameter ${quoteInput(unknown[0])}; POST /batches takes ${UPLOAD_PARAMETERS.join(', ')}.`);
  }
  const param = (name: (typeof UPLOAD_PARAMETERS)[number]): string | null => {
    const value = query[name];
    if (value === undefined) return null;
    if (typeof value !== 'string' || value === '') throw userError(ErrorCodes.BAD_BATCH_OPTIONS, `Give the query parameter ${name} once, with a value.`);
    return value;
  };
  const textColumns = param('textColumns');
  const priorityParam = param('priority');
  const priority = priorityParam === null ? null : priorityNamed(priorityParam);
  if (priorityParam !== null && priority === null) {
    throw userError(ErrorCodes.BAD_BATCH_OPTIONS, `priority must be one of ${BATCH_PRIORITIES.join(', ')}; got ${quoteInput(priorityParam)}.`);
  }
  return {
    format,
    textColumn: param('textColumn'),
    textColumns: textColumns === null ? null : columnList(textColumns),
    idColumn: param('idColumn'),
    model: param('model'),
    idempotencyKey: param('idempotencyKey'),
    priority,
  };
}

/**
 * The request body as it arrives, refused once it grows past `limit` bytes (UPLOAD_TOO_LARGE),
 * or ended once the client has sent nothing for `idleMs` (UPLOAD_IDLE_TIMEOUT). Only the time
 * spent waiting for the client counts: while Sift writes what arrived to Redis, the client is not
 * idle. No timer runs outside this wait, so nothing outlives the upload, and a connection kept
 * alive between requests, or upgraded to a WebSocket, never meets this timeout.
 * Stopping early leaves the request open (reading it with `for await` would destroy it, and its
 * socket with it): the route still answers on it.
 */
async function* uploadBody(req: Request, res: Response, limit: number, idleMs: number, stopping: AbortSignal): AsyncGenerator<Buffer> {
  // Read for the first time: everything the headers could refuse passed (the key and its scopes,
  // the media type, the options, HIGH's scope, the rate of batches), so a client that waits for
  // 100 Continue (Expect: 100-continue) sends its body now (see expect-continue.ts).
  continueBody(res);
  let ended = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const signal = () => wake?.();
  const onEnd = () => {
    ended = true;
    signal();
  };
  const onError = (error: Error) => {
    failure ??= error;
    signal();
  };
  // The request fails ('aborted') or closes before its end only when the client went away.
  const onClose = () => onError(clientGone('the client closed the connection before the upload ended; no batch was created'));
  // The server stops: an upload that ends within UPLOAD_STOP_GRACE_MS is answered as ever; one
  // still coming then is taken back while Redis is still there, and its client told to send it
  // again, rather than cut off once the HTTP drain gives up (HTTP_DRAIN_GRACE_MS), its rows left queued for
  // the sweeper and its client with no answer.
  let stopTimer: NodeJS.Timeout | undefined;
  const onStop = () => (stopTimer = setTimeout(() => onError(serverStopping()), UPLOAD_STOP_GRACE_MS));
  if (stopping.aborted) onStop();
  else stopping.addEventListener('abort', onStop, { once: true });
  req.on('readable', signal);
  req.once('end', onEnd);
  req.once('error', onClose);
  req.once('close', onClose);
  // A client that left before this first read (while its submit waited on its idempotency key's
  // first submit, say) closed the request already: no 'close' comes any more, and without this the
  // upload would wait out the idle timeout holding its slot.
  if (req.destroyed) onClose();
  let received = 0;
  try {
    for (;;) {
      const chunk = req.read() as Buffer | null;
      if (chunk !== null) {
        received += chunk.length;
        if (received > limit) throw uploadTooLarge(limit);
        yield chunk;
        continue;
      }
      if (ended) return;
      if (failure) throw failure;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(idleTimeout(idleMs)), idleMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    req.off('readable', signal);
    req.off('end', onEnd);
    req.off('error', onClose);
    req.off('close', onClose);
    stopping.removeEventListener('abort', onStop);
    clearTimeout(stopTimer);
  }
}

/**
 * How long an upload still being read may go on once the server stops, before it is taken back
 * (SERVER_STOPPING): 3 s under the HTTP drain's grace, after which open connections are closed and
 * the API's Redis connections with them, so that the take-back still reaches Redis.
 */
const UPLOAD_STOP_GRACE_MS = HTTP_DRAIN_GRACE_MS - 3000;

function serverStopping(): SiftError {
  return unavailableError(ErrorCodes.SERVER_STOPPING, 'The server is stopping, and the upload had not ended; it was taken back, and no batch was created. Send the file again (to this server once it is back, or to another).', 2);
}

function uploadTooLarge(limit: number): SiftError {
  return userError(ErrorCodes.UPLOAD_TOO_LARGE, `The upload is larger than ${limit} bytes, the limit SIFT_MAX_UPLOAD_BYTES sets; split the file or raise the limit.`);
}

/** An upload whose Content-Length says it is over the limit: refused before anything is stored or counted against its rate. */
function checkDeclaredLength(req: Request, limit: number): void {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw uploadTooLarge(limit);
}

function idleTimeout(idleMs: number): SiftError {
  return userError(
    ErrorCodes.UPLOAD_IDLE_TIMEOUT,
    `The upload sent nothing for ${idleMs} ms, the most SIFT_UPLOAD_IDLE_TIMEOUT_MS allows, and was ended; no batch was created. Send the file again.`,
  );
}

/** 408 for an upload ended by its idle timeout; a connection that can take no answer any more is closed. */
function sendIdleTimeout(res: Response, error: SiftError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(408).json({ error: { code: error.code, message: error.message } });
}

/** `?echo=false` leaves each result row's id and text out of a download; `true` (the default) keeps them. */
function echoParameter(req: Request): boolean {
  const echo = (req.query as Record<string, unknown>).echo;
  if (echo === undefined || echo === 'true') return true;
  if (echo === 'false') return false;
  throw userError(ErrorCodes.BAD_REQUEST, 'Give the query parameter echo as true (each row with its id and text, the default) or false (without them).');
}

/** `?follow=true`: stream the rows as they finish until the batch ends, not only those finished so far. */
function followParameter(req: Request): boolean {
  const follow = (req.query as Record<string, unknown>).follow;
  if (follow === undefined || follow === 'false') return false;
  if (follow === 'true') return true;
  throw userError(ErrorCodes.BAD_REQUEST, 'Give the query parameter follow as true (stream the rows as they finish, until the batch ends) or false (the rows finished so far, the default).');
}

/** Ends a follow download wherever it is waiting: when its client leaves, or when the server stops. */
function followSignal(res: Response, stopping: AbortSignal): AbortSignal {
  const left = new AbortController();
  res.once('close', () => left.abort(new Error('the client left')));
  return AbortSignal.any([left.signal, stopping]);
}

/** Where a batch and its downloads are. */
const batchPath = (id: string) => `/batches/${encodeURIComponent(id)}`;

/**
 * A batch as `GET /batches/{id}` answers it: the GraphQL `Batch` type's scalar fields (dates as
 * ISO 8601 strings, `resultsUrl` included), `labelCounts`, and the path of each download.
 */
function batchJson(batch: BatchSnapshot): Record<string, unknown> {
  const path = batchPath(batch.id);
  return {
    id: batch.id,
    status: batch.status,
    priority: batch.priority,
    model: batch.model,
    modelVersion: batch.modelVersion,
    total: batch.total,
    processed: batch.processed,
    succeeded: batch.succeeded,
    failed: batch.failed,
    cached: batch.cached,
    createdAt: batch.createdAt.toISOString(),
    startedAt: batch.startedAt?.toISOString() ?? null,
    finishedAt: batch.finishedAt?.toISOString() ?? null,
    rowsPerSecond: batch.rowsPerSecond,
    etaSeconds: batch.etaSeconds,
    error: batch.error,
    resultsUrl: `${path}/results.csv`,
    labelCounts: batch.labelCounts,
    downloads: { csv: `${path}/results.csv`, jsonl: `${path}/results.jsonl` },
  };
}

/**
 * `POST /batches`: a CSV or JSON Lines file as the body, options as query parameters; the body
 * streams into queued chunks as it arrives, and the answer (202, `Location: /batches/{id}`) comes
 * once all of it is queued.
 * `GET /batches/:id`: the batch as JSON (see batchJson); an unknown id is a 404 UNKNOWN_BATCH.
 * `GET /batches/:id/results.csv|jsonl`: every finished row so far, in input order, streamed;
 * `?echo=false` leaves out each row's id and text; `?follow=true` goes on streaming rows as they
 * finish until the batch ends.
 */
export function batchRoutes({ batches, maxUploadBytes, maxRowBytes, uploadIdleTimeoutMs, uploads, authenticator, logger, development, stopping }: BatchRoutesOptions): Router {
  const router = Router();
  router.use('/batches', authenticate(authenticator, 'batches', logger, development, stopping));

  // Every slot taken: said in the log (at most every 30 s) with who holds them, since keys that
  // send slowly can keep them all, and only the operator can tell that from a busy hour.
  let lastFullWarning = 0;
  const takeSlot = (rateKey: string): (() => void) => {
    try {
      return uploads.take(rateKey);
    } catch (refusal) {
      if (uploads.full && Date.now() - lastFullWarning >= 30_000) {
        lastFullWarning = Date.now();
        logger.warn(`uploads refused: this API process reads as many as SIFT_MAX_UPLOADS allows, for ${uploads.holders()}; a key that sends slowly keeps its slots. Raise SIFT_MAX_UPLOADS, or revoke a key that should not (sift keys revoke).`);
      }
      throw refusal;
    }
  };

  router.post('/batches', async (req, res) => {
    let release: (() => void) | undefined;
    try {
      const format = uploadFormat(req);
      checkDeclaredLength(req, maxUploadBytes);
      const options = uploadOptions(req, format);
      const principal = principalOf(res);
      // Rows are limited on the bytes, before anything decodes or parses them (see row-limit.ts).
      const body = rowLimited(uploadBody(req, res, maxUploadBytes, uploadIdleTimeoutMs, stopping), maxRowBytes);
      // The slot is taken once the model, the priority and the idempotency key have passed, before
      // the batch rate counts the upload or its body is read (see upload-slots.ts).
      const batch = await batches.submitUpload(body, options, principal, () => (release = takeSlot(principal.rateKey)));
      res.status(202).location(batchPath(batch.id)).json({ id: batch.id, status: batch.status, total: batch.total, priority: batch.priority });
    } catch (error) {
      if (isSiftError(error) && error.code === ErrorCodes.UPLOAD_IDLE_TIMEOUT) {
        // A client silent for that long has nothing in flight to lose the answer to: closed at once.
        if (!res.headersSent) res.setHeader('Connection', 'close');
        sendIdleTimeout(res, error);
      } else {
        sendError(res, error, logger, development);
        // Refused before the whole body was read: the connection stays open for the client to read
        // the answer, rather than closed under the rest of its body (see refused-upload.ts).
        drainRefusedUpload(req, { stopping });
      }
    } finally {
      release?.();
    }
  });

  router.get('/batches/:id', async (req, res) => {
    try {
      const batch = await batches.get(req.params.id, principalOf(res));
      if (!batch) throw unknownBatch(req.params.id);
      // Counts change while the batch runs: a client polling it must not get a cached copy.
      res.setHeader('Cache-Control', 'no-store');
      res.status(200).json(batchJson(batch));
    } catch (error) {
      sendError(res, error, logger, development);
    }
  });

  router.get('/batches/:id/results.:format', async (req, res) => {
    const format = req.params.format;
    if (format !== 'csv' && format !== 'jsonl') {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: `Results come as results.csv or results.jsonl, not results.${format}.` } });
      return;
    }
    try {
      const echo = echoParameter(req);
      const follow = followParameter(req);
      const download = await batches.exportResults(req.params.id, format, principalOf(res), echo, follow ? followSignal(res, stopping) : undefined);
      // A follow download may stream until its batch ends, hours later: its key is checked again as it goes.
      if (follow) recheckWhileStreaming(req, res, authenticator, 'batches', KEY_RECHECK_MS, logger, (principal) => download.batch.owner === principal.keyId || seesAllBatches(principal));
      res.status(200);
      res.setHeader('Content-Type', download.contentType);
      res.setHeader('Content-Disposition', `attachment; filename="${download.batch.id}.${format}"`);
      // The rows finished so far: a client polling a running batch must not get a cached copy.
      res.setHeader('Cache-Control', 'no-store');
      await pipeline(Readable.from(download.body), res);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return; // the client left
      if (stopping.aborted && res.headersSent) {
        // A download that followed its batch, ended by a planned stop: cut (its client asks again
        // once a server answers), and said at info level, not as the fault a stack trace suggested.
        logger.info(`${req.method} ${req.path}: ended by the server's stop; the client may download again from another or the restarted API`);
        res.destroy();
        return;
      }
      sendError(res, error, logger, development);
    }
  });

  return router;
}
