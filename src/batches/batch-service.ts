import type BeeQueue from 'bee-queue';
import { ErrorCodes, userError } from '../errors';
import type { Logger } from '../logger';
import { hasScope, seesAllBatches, type Principal } from '../auth/principal';
import type { ModelCatalog } from '../models/model-catalog';
import type { BatchEvents } from './batch-events';
import { ingestBatch, TAKE_BACK_FOR_MS, TAKE_BACK_RETRY_MS } from './batch-ingest';
import { retryUntilDone } from './retry-until-done';
import { InputFingerprint, isLegacyFingerprint, LegacyInputFingerprint } from './input-fingerprint';
import type { BatchStatus } from './batch-status';
import { PENDING_BATCH, type BatchPage, type BatchStore, type IdempotentBatch } from './batch-store';
import { DEFAULT_PRIORITY, type BatchPriority } from './batch-priority';
import type { ChunkSchedule } from './chunk-schedule';
import { unknownBatch, type BatchRowResult, type BatchSnapshot, type ChunkJob, type InputRow } from './batch-types';
import { followResults } from './result-follower';
import type { ProgressChannel } from './progress-channel';
import type { ProgressRelay, WatchOptions } from './progress-relay';
import type { WatchItem } from './progress-watcher';
import { EXPORT_CONTENT_TYPES, ResultFormatter, type ExportFormat } from './result-export';
import { csvRows } from './csv-rows';
import { encodeChunk, storedRowsJson } from './row-codec';
import { boundedRow } from './row-bounds';
import { chosenTextColumns, jsonlRows, textRows } from './row-sources';
import { utf8Bytes, utf8Text } from './utf8-text';
import { inSpan, SpanAttributes, SpanKind, SpanNames, type Span } from '../tracing/spans';

/** A batch submitted inline (GraphQL `SubmitBatchInput`). */
export interface InlineBatchInput {
  texts?: string[] | null;
  csv?: string | null;
  /** The CSV column holding the text ("text" when neither this nor textColumns is given). */
  textColumn?: string | null;
  /** Several CSV columns whose non-blank cells are joined into the text (see `joinedText`); not with textColumn. */
  textColumns?: readonly string[] | null;
  idColumn?: string | null;
  model?: string | null;
  idempotencyKey?: string | null;
  /** NORMAL when absent. */
  priority?: BatchPriority | null;
}

/** Formats an uploaded file may have. */
export type UploadFormat = 'csv' | 'jsonl';

/** Options of an uploaded file (HTTP `POST /batches` query parameters). */
export interface UploadOptions {
  format: UploadFormat;
  /** The column or field holding the text ("text" when neither this nor textColumns is given). */
  textColumn?: string | null;
  /** Several columns or fields whose non-blank values are joined into the text; not with textColumn. */
  textColumns?: readonly string[] | null;
  idColumn?: string | null;
  model?: string | null;
  idempotencyKey?: string | null;
  /** NORMAL when absent. */
  priority?: BatchPriority | null;
}

/** How a batch is submitted, whatever its input. */
interface SubmitOptions {
  model: string | null | undefined;
  idempotencyKey: string | null | undefined;
  priority: BatchPriority | null | undefined;
  /** Rows accepted at most (the inline limit), or Infinity. */
  maxRows: number;
  /**
   * Called once the model, the priority and the idempotency key have passed (a retry waits for
   * its key's first submit before), before any row is read or the batch counted against its rate;
   * may throw to refuse the submit (an upload's slot, upload-slots.ts).
   */
  beforeRead?: () => void;
}

export interface BatchServiceOptions {
  store: BatchStore;
  /** Where chunks wait for the workers (see chunk-schedule.ts). */
  schedule: ChunkSchedule;
  /** The workers' queue (failed uploads take back the chunks handed out to it). */
  queue: BeeQueue<ChunkJob>;
  catalog: ModelCatalog;
  /** Rows a chunk holds at most (SIFT_CHUNK_SIZE). */
  chunkSize: number;
  /** Characters of ids and texts a chunk holds at most (SIFT_CHUNK_CHARACTERS). */
  chunkCharacters: number;
  maxInlineRows: number;
  /** An upload silent for this long counts as abandoned (see IngestOptions). */
  abandonedAfterMs: number;
  /** Longest row of an upload (SIFT_MAX_ROW_BYTES): also bounds a CSV record whose quoted fields span lines. */
  maxRowBytes: number;
  channel: ProgressChannel;
  progress: ProgressRelay;
  logger: Logger;
  /** How many batches and rows each client may queue (rate limits); none when absent. */
  quota?: BatchQuota;
  /** Where a submitted batch is said (logs, metrics). */
  events?: BatchEvents;
}

/** What a client may queue: `batch` refuses (RATE_LIMITED) past its batches a minute; `batchRows` waits until its rows fit its pace. */
export interface BatchQuota {
  batch(who: string): Promise<void>;
  batchRows(who: string, rows: number): Promise<void>;
}

/**
 * The longest an idempotency key's claim outlives its submit (it is renewed five times as often
 * while the submit reads). Shorter than SIFT_STUCK_AFTER_MS's default of 2 min: a client that
 * uploads again with the key after its API process died waits for the claim to lapse, and
 * `sift batch` rides out failures for 2 min by default, its retries included.
 */
const MAX_CLAIM_MS = 10_000;

/** A principal's idempotency key as its client gave it (without the principal's id), quoted, for messages. */
function shownKey(idempotencyKey: string): string {
  return JSON.stringify(idempotencyKey.slice(idempotencyKey.indexOf(':') + 1));
}

/**
 * `step`'s answer, tried every 100 ms while it has none (undefined: the key's first submit is still
 * reading its input), up to a minute; then FIRST_SUBMIT_PENDING, saying to send the request again.
 */
async function whileFirstSubmitReads<T>(idempotencyKey: string, step: () => Promise<T | undefined>): Promise<T> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const answer = await step();
    if (answer !== undefined) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw userError(ErrorCodes.FIRST_SUBMIT_PENDING, `The first submit with idempotencyKey ${shownKey(idempotencyKey)} is still reading its input a minute later. Send this request again later to get its batch.`, {}, 5);
}

/**
 * HIGH chunks go before every NORMAL one of every key (chunk-schedule.ts), so a key that could
 * send any batch HIGH could hold up everyone else's: it takes the `priority` scope (or `admin`).
 */
function highRefused(principal: Principal): Error {
  return userError(
    ErrorCodes.FORBIDDEN,
    `The API key "${principal.name}" cannot submit HIGH batches: HIGH goes ahead of every other key's NORMAL batches, so it needs the priority scope. Submit it as NORMAL (the default) or LOW, or ask an operator for a key with it (sift keys create --scopes predict,batches,priority).`,
    { scope: 'priority' },
  );
}

/**
 * Batches: submit, read, list, page through results, cancel. Transport-free: GraphQL resolvers
 * and HTTP routes call it with the caller's principal. A batch belongs to the principal that
 * submitted it: every other principal (but an admin) is answered as if it did not exist, and
 * idempotency keys are the principal's own.
 */
export class BatchService {
  constructor(private readonly options: BatchServiceOptions) {}

  async submitInline(input: InlineBatchInput, principal: Principal): Promise<BatchSnapshot> {
    const hasTexts = input.texts !== null && input.texts !== undefined;
    const hasCsv = input.csv !== null && input.csv !== undefined;
    if (hasTexts === hasCsv) {
      throw userError(ErrorCodes.BAD_BATCH_OPTIONS, 'Give exactly one of texts and csv: texts for a list of texts, csv for a CSV document with a header row.');
    }
    if (hasTexts && input.textColumns) {
      throw userError(ErrorCodes.BAD_BATCH_OPTIONS, 'textColumns names columns of csv; texts are one text each. Give csv with textColumns, or texts alone.');
    }
    const rows = hasTexts ? textRows(input.texts!) : csvRows(input.csv!, { textColumns: chosenTextColumns(input), idColumn: input.idColumn });
    return this.submit(rows, { model: input.model, idempotencyKey: input.idempotencyKey, priority: input.priority, maxRows: this.options.maxInlineRows }, principal);
  }

  /**
   * A file of any size, streamed: its bytes are checked as strict UTF-8 and cut into chunks as
   * they arrive, so memory stays flat; there is no row limit.
   */
  async submitUpload(body: AsyncIterable<Buffer | string>, options: UploadOptions, principal: Principal, beforeRead?: () => void): Promise<BatchSnapshot> {
    const columns = { textColumns: chosenTextColumns(options), idColumn: options.idColumn };
    // csv-parse reads bytes (a string it would encode again); the JSON Lines reader reads text.
    const rows = options.format === 'csv' ? csvRows(utf8Bytes(body), columns, this.options.maxRowBytes) : jsonlRows(utf8Text(body), columns);
    return this.submit(rows, { model: options.model, idempotencyKey: options.idempotencyKey, priority: options.priority, maxRows: Number.POSITIVE_INFINITY, beforeRead }, principal);
  }

  /**
   * Creates a batch from rows (checked as they stream in). With an idempotency key, the first
   * submit wins, also when two race: a later one with the same content (rows, model and options)
   * gets the first batch; one with other content is refused with IDEMPOTENCY_CONFLICT rather
   * than silently never run.
   */
  submit(rows: AsyncIterable<InputRow[]>, options: SubmitOptions, principal: Principal): Promise<BatchSnapshot> {
    // Before anything is read or stored: a refused batch leaves no trace.
    if (options.priority === 'HIGH' && !hasScope(principal, 'priority')) return Promise.reject(highRefused(principal));
    // The span every chunk's span on the workers is a child of (the chunks carry its context: see ChunkSchedule.open).
    return inSpan(SpanNames.BATCH_SUBMIT, { kind: SpanKind.PRODUCER }, async (span) => {
      const batch = await this.submitInSpan(rows, options, principal, span);
      span.setAttributes({ [SpanAttributes.BATCH_ID]: batch.id, [SpanAttributes.BATCH_ROWS]: batch.total });
      return batch;
    });
  }

  private async submitInSpan(rows: AsyncIterable<InputRow[]>, submitted: SubmitOptions, principal: Principal, span: Span): Promise<BatchSnapshot> {
    const model = this.options.catalog.resolve(submitted.model);
    const clientKey = submitted.idempotencyKey;
    span.setAttribute(SpanAttributes.MODEL, model.name);
    const { store, channel, logger } = this.options;
    // Each principal's idempotency keys are its own: two clients may pick the same one.
    const idempotencyKey = clientKey ? `${principal.keyId}:${clientKey}` : null;
    const fingerprint = idempotencyKey ? new InputFingerprint(model.name, submitted.priority ?? DEFAULT_PRIORITY) : null;
    const claimMs = Math.min(this.options.abandonedAfterMs, MAX_CLAIM_MS);
    const held = idempotencyKey ? await this.claimOrAwait(idempotencyKey, claimMs) : null;
    const claim = typeof held === 'string' ? held : null;
    if (idempotencyKey && fingerprint && held !== null && typeof held !== 'string') {
      // Read this submit's input to the end, to compare it with the first's: its rows as they would
      // be stored, or, for a key an earlier release recorded, as that release hashed them.
      const legacy = held.fingerprint !== null && isLegacyFingerprint(held.fingerprint) ? new LegacyInputFingerprint(model.name, submitted.priority ?? DEFAULT_PRIORITY) : null;
      submitted.beforeRead?.();
      for await (const arrived of rows) {
        if (legacy) legacy.add(arrived);
        else fingerprint.addStoredRows(storedRowsJson(encodeChunk(arrived.map((row) => boundedRow(row, model.maxTextLength)))));
      }
      span.setAttribute(SpanAttributes.BATCH_REPLAYED, true);
      return this.firstBatchOf(idempotencyKey, (legacy ?? fingerprint).digest());
    }
    // The claim lasts while this submit is alive to renew it, as the upload's own sign of life does
    // (batch-ingest.ts): an API process that dies mid-upload leaves a key that frees itself.
    const renewal = idempotencyKey && claim ? setInterval(() => void store.renewIdempotencyClaim(idempotencyKey, claim, claimMs).catch(() => undefined), claimMs / 5) : undefined;
    renewal?.unref();
    try {
      submitted.beforeRead?.();
      const { quota } = this.options;
      await quota?.batch(principal.rateKey);
      const batch = await ingestBatch(store, this.options.schedule, this.options.queue, rows, model, {
        chunkSize: this.options.chunkSize,
        chunkCharacters: this.options.chunkCharacters,
        maxRows: submitted.maxRows,
        logger,
        owner: principal.keyId,
        priority: submitted.priority ?? DEFAULT_PRIORITY,
        abandonedAfterMs: this.options.abandonedAfterMs,
        onStoredRows: fingerprint ? (rowsJson) => fingerprint.addStoredRows(rowsJson) : undefined,
        pace: quota ? (count) => quota.batchRows(principal.rateKey, count) : undefined,
        onIngested: (id, count) => this.options.events?.emit('submitted', { id, model: model.name, rows: count, by: principal.name }),
      });
      // Workers may have finished every row before the input ended: then this is the final event.
      if (batch.status === 'COMPLETED') await channel.statusChanged(batch.id);
      if (idempotencyKey && claim && fingerprint && !(await store.recordIdempotentBatch(idempotencyKey, claim, batch.id, fingerprint.digest()))) {
        // Its claim lapsed while it ran (a pause of over 10 s): the key is another submit's now, or
        // free; this batch is answered all the same, and the key left as it is.
        logger.warn(`batch ${batch.id}: the claim of its idempotencyKey ${JSON.stringify(clientKey)} lapsed while its input was read (a pause of over ${claimMs / 1000} s?); the key was left to whoever holds it now`);
      }
      return batch;
    } catch (error) {
      if (idempotencyKey && claim) await this.releaseKey(idempotencyKey, claim);
      throw error;
    } finally {
      clearInterval(renewal);
    }
  }

  /**
   * Gives a failed submit's idempotency key up, so the client's retry can claim it. When Redis is
   * away (the submit failed for that), the key goes on being given up in the background as the
   * failed upload's take-back does, until Redis answers: given up once and left, it stayed
   * claimed for the batch retention (7 days), and every retry waited a minute to be refused.
   */
  private async releaseKey(idempotencyKey: string, claim: string): Promise<void> {
    const { store, logger } = this.options;
    const release = () => store.releaseIdempotencyKey(idempotencyKey, claim);
    if (await release().then(() => true, () => false)) return;
    const shown = shownKey(idempotencyKey);
    logger.warn(`the failed submit with idempotencyKey ${shown} cannot give its key up yet (Redis is not answering); trying again until it does`);
    void retryUntilDone(release, { everyMs: TAKE_BACK_RETRY_MS, forMs: TAKE_BACK_FOR_MS }).then((done) =>
      done ? logger.info(`idempotencyKey ${shown} of a failed submit is free again`) : logger.warn(`could not give idempotencyKey ${shown} up in ${TAKE_BACK_FOR_MS / 60_000} min; it expires with the batch retention`),
    );
  }

  /**
   * This submit's claim on `idempotencyKey`, or its record once another submit has recorded its batch
   * there (this one then compares its input with it). While another's claim is pending, this
   * submit waits, its input not read yet, up to a minute: a claim whose submit died (its API
   * process killed mid-upload, the client sending again to the restarted one) lapses within
   * seconds, and this submit then takes the key and makes the batch in this same request. Before,
   * it read its whole input, was told to come back, and sent it all again (a review: a 38 MB
   * upload sent three times, and `sift batch` out of retries with SIFT_RECONNECT_SECONDS under 10).
   * Still pending after a minute: FIRST_SUBMIT_PENDING, with nothing read. The claim, or the
   * record found (its fingerprint's form says how to hash this submit's input).
   */
  private claimOrAwait(idempotencyKey: string, claimMs: number): Promise<string | IdempotentBatch> {
    const { store } = this.options;
    return whileFirstSubmitReads(idempotencyKey, async () => {
      const claim = await store.claimIdempotencyKey(idempotencyKey, claimMs);
      if (claim !== null) return claim;
      const held = await store.idempotentBatch(idempotencyKey);
      // Recorded: compare with it. Pending, or freed since the claim was tried: try again.
      return held !== null && held !== PENDING_BATCH ? held : undefined;
    });
  }

  /**
   * The batch of the key's first submit, which may still be reading its input: waited for, up to a
   * minute. A first submit that ends without a batch (refused, its client gone, its API process
   * dead: its claim then lapses) leaves this one nothing to answer with, its input read already;
   * both that and a first submit still reading are FIRST_SUBMIT_PENDING (409 with Retry-After), so
   * a client sends the same request again, which then gets the batch, or submits it.
   */
  private firstBatchOf(idempotencyKey: string, fingerprint: string): Promise<BatchSnapshot> {
    const shown = shownKey(idempotencyKey);
    return whileFirstSubmitReads(idempotencyKey, async () => {
      const value = await this.options.store.idempotentBatch(idempotencyKey);
      if (value === null) {
        throw userError(ErrorCodes.FIRST_SUBMIT_PENDING, `The first submit with idempotencyKey ${shown} ended without creating a batch (it was refused, its client went away, or its API process stopped). Send this request again: it will create the batch.`, {}, 1);
      }
      if (value !== PENDING_BATCH) {
        if (value.fingerprint !== null && value.fingerprint !== fingerprint) {
          throw userError(
            ErrorCodes.IDEMPOTENCY_CONFLICT,
            `The idempotencyKey ${shown} was used for batch ${value.batch}, whose rows, model or options differ from this request's. Send exactly the same request to get that batch back, or use a new key for a new batch.`,
            { batchId: value.batch },
          );
        }
        const batch = await this.options.store.get(value.batch);
        if (batch) return batch;
      }
      return undefined;
    });
  }

  /** The batch, when it exists and the principal may see it; null otherwise (the two answer alike). */
  async get(id: string, principal: Principal): Promise<BatchSnapshot | null> {
    const batch = await this.options.store.get(id);
    return batch && (batch.owner === principal.keyId || seesAllBatches(principal)) ? batch : null;
  }

  /** The principal's batches (an admin's: every batch), most recent first. */
  async list(first: number, after: string | null | undefined, status: BatchStatus | null | undefined, principal: Principal): Promise<BatchPage> {
    if (!Number.isInteger(first) || first < 1 || first > 100) throw userError(ErrorCodes.BAD_USER_INPUT, `first must be from 1 to 100; got ${first}.`);
    if (after && !/^[A-Za-z0-9_-]+$/.test(after)) throw userError(ErrorCodes.BAD_USER_INPUT, 'after is not a cursor this server gave out; pass pageInfo.endCursor of the previous page.');
    return this.options.store.list(first, after ?? null, { owner: seesAllBatches(principal) ? null : principal.keyId, status: status ?? null });
  }

  /** Rows of a batch the caller already holds (so may see), from `offset`. */
  results(batch: BatchSnapshot, offset: number, limit: number): Promise<BatchRowResult[]> {
    checkResultsPage(offset, limit);
    return this.options.store.results(batch.id, offset, limit);
  }

  /**
   * A download of every finished row so far, in input order, as text pieces to stream out (one
   * page of rows each). The batch may still be running: rows not finished yet are left out.
   * Without `echo`, rows leave out the id and text they were sent with (see exportFields).
   */
  async exportResults(
    id: string,
    format: ExportFormat,
    principal: Principal,
    echo = true,
    /** Given: follow the batch until it ends (see result-follower.ts), stopping when this signal aborts. */
    follow?: AbortSignal,
  ): Promise<{ batch: BatchSnapshot; contentType: string; body: AsyncGenerator<string> }> {
    const batch = await this.get(id, principal);
    if (!batch) throw unknownBatch(id);
    const formatter = new ResultFormatter(format, batch.labels, echo);
    const store = this.options.store;
    const pages = follow ? followResults(store, id, batch.total, echo, follow) : store.allResults(id, batch.total, echo);
    async function* body(): AsyncGenerator<string> {
      yield formatter.header();
      // A chunk's text at a time, not a page's (up to 8 chunks): the socket write measures each
      // piece, which copies it whole, and a piece past 128 kB is copied straight into V8's old
      // generation. A page's text a piece cost the API 7% more CPU for the file of the file bench
      // (`node dist/bench/worker-cpu.js` in both orders, docs/performance.md).
      for await (const page of pages) for (const chunk of page) yield formatter.rows([chunk]);
    }
    return { batch, contentType: EXPORT_CONTENT_TYPES[format], body: body() };
  }

  /** Queued chunks will not run; rows already finished stay readable. */
  async cancel(id: string, principal: Principal): Promise<BatchSnapshot> {
    if (!(await this.get(id, principal))) throw unknownBatch(id);
    const status = await this.options.store.end(id, 'CANCELLED');
    const batch = status ? await this.options.store.get(id) : null;
    if (!batch) throw unknownBatch(id);
    await this.options.channel.statusChanged(id);
    return batch;
  }

  /** Live progress events of one batch (see ProgressRelay); an unknown id is refused up front. */
  async watch(id: string, options: WatchOptions, principal: Principal): Promise<AsyncIterableIterator<WatchItem>> {
    if (!(await this.get(id, principal))) throw unknownBatch(id);
    if (options.fromRow !== null && (!Number.isInteger(options.fromRow) || options.fromRow < 0)) {
      throw userError(ErrorCodes.BAD_USER_INPUT, `fromRow must be 0 or more; got ${options.fromRow}.`);
    }
    return this.options.progress.watch(id, options);
  }
}

/** Refuses a page of a batch's rows (`results(offset, limit)`) that is out of range. */
export function checkResultsPage(offset: unknown, limit: unknown): void {
  if (!Number.isInteger(offset) || (offset as number) < 0) throw userError(ErrorCodes.BAD_USER_INPUT, `offset must be 0 or more; got ${String(offset)}.`);
  if (!Number.isInteger(limit) || (limit as number) < 0 || (limit as number) > 1000) throw userError(ErrorCodes.BAD_USER_INPUT, `limit must be from 0 to 1000; got ${String(limit)}.`);
}
