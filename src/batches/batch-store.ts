import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ErrorCodes, unavailableError, type SiftError } from '../errors';
import type { RedisKeys } from '../redis/keys';
import { isBatchStatus, isFinalStatus, type BatchStatus } from './batch-status';
import { DEFAULT_PRIORITY, isBatchPriority, type BatchPriority } from './batch-priority';
import type { BatchRowResult, BatchSnapshot, InputRow } from './batch-types';
import { chunkOutcomesOf, decodeChunkResults, decodeChunkTexts, encodeChunk, encodeChunkOutput, parseChunkResults, type ChunkTexts, type ResultChunk, type RowModel, type StoredChunkResults } from './row-codec';
import { ChunkLayout, CutLayouts, type ChunkCuts } from './chunk-layout';
import type { BatchEvents, EndedBatchEvent } from './batch-events';
import { endBatch } from './scripts/end-batch';
import { dropScheduled } from './scripts/schedule-chunks';
import { finishIngest } from './scripts/finish-ingest';
import { uploadAlive } from './scripts/upload-alive';
import { recordChunk, type RecordedChunk } from './scripts/record-chunk';
import { recordClaim, releaseClaim, renewClaim } from './scripts/idempotency-claim';

/**
 * An upload whose batch record vanished while its input was read: Redis restarted without its
 * data (no persistence) or was emptied. Before, the upload went on writing chunks beside no
 * record, and its end failed inside a Lua script (500 INTERNAL_SERVER_ERROR). Passing: the client
 * sends it again (`sift batch` does), and it makes a new batch.
 */
function uploadLost(id: string): SiftError {
  return unavailableError(ErrorCodes.REDIS_UNAVAILABLE, `Redis lost batch ${id} while its input was read (it restarted without its data, or was emptied); nothing of it was kept. Send it again.`, 2);
}

/** The owner of a batch recorded before batches had owners (auth off). */
const LOCAL_OWNER = 'local';

/** What an idempotency key holds while its first submit is still reading its input. */
export const PENDING_BATCH = 'pending';

/** Counts of one finished chunk. */
export interface ChunkCounts {
  succeeded: number;
  failed: number;
  cached: number;
  /** Succeeded rows by predicted label. */
  labels: Record<string, number>;
}

/** The batch an idempotency key created, and the fingerprint of that batch's input. */
export interface IdempotentBatch {
  batch: string;
  fingerprint: string | null;
}

/** What a worker checks before it runs a chunk. */
export interface BatchState {
  status: BatchStatus;
  model: string;
  /** Whether its input was read to the end. */
  ingested: boolean;
  /** When its upload last showed a sign of life (ms), while it is being read. */
  aliveAt: number;
}

/** What the sweeper reads of a batch. */
export interface SweepState {
  status: BatchStatus;
  ingested: boolean;
  /** Chunks in the batch, once its input is read. */
  chunks: number;
  /** Chunks queued so far while its input is read. */
  queuedChunks: number;
  aliveAt: number;
}

/** Where one chunk of a batch stands, for the sweeper. */
export interface ChunkState {
  chunk: number;
  /** recorded: done; queued: its job is in the queue; unqueued: input kept but no job; lost: neither. */
  state: 'recorded' | 'queued' | 'unqueued' | 'lost';
}

/** A batch as a progress relay reads it: the snapshot, and how far its rows are recorded. */
export interface BatchProgressState {
  snapshot: BatchSnapshot;
  /** What its rows are decoded against. */
  model: RowModel;
  /** Which rows each chunk holds, and how many chunks there are. */
  layout: ChunkLayout;
  /** Chunks from the first that are all recorded: rows below `layout.firstRow(contiguousChunks)` are all finished. */
  contiguousChunks: number;
}

/** A page of batches, most recent first. */
export interface BatchPage {
  edges: { cursor: string; node: BatchSnapshot }[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** A stored batch record as a snapshot; null for a record still being read in (or not a batch). */
function toSnapshot(id: string, hash: Record<string, string>, now = Date.now()): BatchSnapshot | null {
  const status = hash.status;
  if (!isBatchStatus(status) || hash.ingested !== '1') return null;
  const num = (field: string) => Number(hash[field] ?? 0);
  const date = (field: string) => (hash[field] ? new Date(hash[field]) : null);
  const labels = hash.labels ? (JSON.parse(hash.labels) as string[]) : [];
  const startedAt = date('startedAt');
  const finishedAt = date('finishedAt');
  const processed = num('processed');
  const total = num('total');
  const seconds = startedAt ? ((finishedAt?.getTime() ?? now) - startedAt.getTime()) / 1000 : 0;
  const rowsPerSecond = seconds > 0 ? processed / seconds : null;
  const running = !isFinalStatus(status);
  return {
    id,
    owner: hash.owner ?? LOCAL_OWNER,
    status,
    // Batches recorded before priorities existed ran as NORMAL.
    priority: isBatchPriority(hash.priority) ? hash.priority : DEFAULT_PRIORITY,
    model: hash.model,
    modelVersion: hash.modelVersion,
    labels,
    total,
    processed,
    succeeded: num('succeeded'),
    failed: num('failed'),
    cached: num('cached'),
    createdAt: new Date(hash.createdAt),
    startedAt,
    finishedAt,
    rowsPerSecond,
    etaSeconds: running && rowsPerSecond ? Math.max(0, total - processed) / rowsPerSecond : running ? null : 0,
    error: hash.error || null,
    labelCounts: labels.map((label) => ({ label, count: num(`label:${label}`) })),
  };
}

/**
 * Bytes of stored chunks (results and recorded input) one read of a download brings into memory at
 * most, one chunk at least: a chunk of the longest rows is about 6 MB (see chunk-layout.ts), and
 * the API holds several times that while it formats them.
 */
export const READ_BYTES = 8 * 2 ** 20;

/** The chunks one read takes (BatchStore.chunksWithin). */
export interface ChunksToRead {
  chunks: number[];
  /** Each one's stored bytes as measured (0: not recorded then). */
  bytes: number[];
  /** The first chunk left out for not fitting, where the next read begins; null when none was. */
  cutAt: number | null;
}

/** What of a batch record tells which rows its chunks hold. */
type LayoutFields = Partial<Record<'chunkSize' | 'cutChunks' | 'chunks' | 'total' | 'ingested', string | null>>;

/** Chunk indices `first` to `last`, both included. */
export function chunkRange(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/**
 * Batch records, their input chunks and results in Redis. Everything a worker or an API process
 * changes goes through one Lua script (see scripts/); every key expires after the
 * retention period.
 */
export class BatchStore {
  private readonly cutLayouts = new CutLayouts();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly retentionSeconds: number,
    /** Where the store says a batch started or ended (see batch-events.ts); none in tests that do not listen. */
    private readonly events?: BatchEvents,
  ) {}

  /**
   * Creates the record, QUEUED with no rows yet; it is listed once its input is fully read. A chunk
   * holds `chunkSize` rows unless it was cut short (finishIngest records which, see chunk-layout.ts).
   */
  async create(id: string, model: RowModel, createdAt: Date, chunkSize: number, owner: string, priority: BatchPriority = DEFAULT_PRIORITY): Promise<void> {
    const key = this.keys.batch(id);
    const now = Date.now();
    const createdAtMs = createdAt.getTime();
    await this.redis
      .multi()
      .hset(key, { status: 'QUEUED', owner, priority, model: model.name, modelVersion: model.version, labels: JSON.stringify(model.labels), chunkSize, createdAt: createdAt.toISOString(), createdAtMs, total: 0, processed: 0, succeeded: 0, failed: 0, cached: 0, ingested: 0, queuedChunks: 0, aliveAt: now })
      .expire(key, this.retentionSeconds)
      .zadd(this.keys.activeBatches(), now, id)
      .exec();
  }

  /**
   * Stores a chunk's input rows before its job is queued, and counts it as queued: should the
   * upload die half way, the chunks to take back are known. Also a sign of life of the upload.
   * Throws uploadLost when the batch's record is gone (see there); the caller's take-back removes
   * what this wrote.
   */
  async saveChunk(id: string, chunk: number, rows: readonly InputRow[], encoded = encodeChunk(rows)): Promise<void> {
    const now = Date.now();
    const replies = await this.redis
      .multi()
      .hexists(this.keys.batch(id), 'status')
      .set(this.keys.batchChunk(id, chunk), encoded, 'EX', this.retentionSeconds)
      .hset(this.keys.batch(id), 'queuedChunks', chunk + 1, 'aliveAt', now)
      .zadd(this.keys.activeBatches(), 'XX', now, id)
      .exec();
    if (replies?.[0]?.[1] === 0) throw uploadLost(id);
  }

  /** A sign of life of an upload still being read (see `state`'s aliveAt, and the sweeper). */
  async heartbeat(id: string): Promise<void> {
    await uploadAlive.run(this.redis, { batch: this.keys.batch(id), active: this.keys.activeBatches() }, { now: Date.now(), id });
  }

  /** Deletes a chunk's input rows (recording a chunk moves them to its recorded input: see record-chunk.ts). */
  async dropChunkInput(id: string, chunk: number): Promise<void> {
    await this.redis.del(this.keys.batchChunk(id, chunk));
  }

  async loadChunk(id: string, chunk: number): Promise<ChunkTexts | null> {
    const json = await this.redis.get(this.keys.batchChunk(id, chunk));
    return json === null ? null : decodeChunkTexts(json);
  }

  /**
   * Marks the input fully read (see finish-ingest.ts), with its chunks cut short (ChunkCuts; none
   * when not given); the status afterwards. Throws uploadLost when the record is gone.
   */
  async finishIngest(id: string, total: number, chunks: number, cuts?: ChunkCuts): Promise<BatchStatus> {
    const status = await finishIngest.run(
      this.redis,
      { batch: this.keys.batch(id), active: this.keys.activeBatches(), cuts: this.keys.batchChunkCuts(id) },
      {
        total,
        chunks,
        now: new Date().toISOString(),
        id,
        indexPrefix: this.keys.batches(),
        chunkCuts: cuts?.encoded() ?? '',
        cutChunks: cuts?.count ?? 0,
        retentionSeconds: this.retentionSeconds,
      },
    );
    if (status === null) throw uploadLost(id);
    // Workers counted every row before the input ended: reading it to the end completed it.
    if (status === 'COMPLETED') await this.ended(id, status);
    return status;
  }

  /**
   * Stores a chunk's results (`outcomes` of its rows from `first` on, see row-codec.ts), keeps its
   * input for downloads that echo it, and counts its rows, once: a chunk run again after a crash
   * is not counted twice.
   */
  async recordChunk(id: string, chunk: number, first: number, counts: ChunkCounts, rows: number, outcomes: string): Promise<RecordedChunk> {
    const recorded = await recordChunk.run(
      this.redis,
      {
        batch: this.keys.batch(id),
        results: this.keys.batchResults(id),
        input: this.keys.batchChunk(id, chunk),
        active: this.keys.activeBatches(),
        recordedInput: this.keys.batchRecordedInput(id, chunk),
      },
      {
        chunk,
        rows,
        succeeded: counts.succeeded,
        failed: counts.failed,
        cached: counts.cached,
        now: new Date().toISOString(),
        retentionSeconds: this.retentionSeconds,
        output: encodeChunkOutput(first, outcomes),
        labelCounts: JSON.stringify(counts.labels),
        id,
        nowMs: Date.now(),
        indexPrefix: this.keys.batches(),
      },
    );
    if (recorded.started) this.events?.emit('started', id);
    // A counted chunk that leaves its batch COMPLETED is the one that completed it.
    if (recorded.outcome === 'counted' && recorded.status === 'COMPLETED') await this.ended(id, 'COMPLETED');
    return recorded;
  }

  /** Ends a running or queued batch as CANCELLED or FAILED; returns the status it has afterwards. */
  async end(id: string, status: 'CANCELLED' | 'FAILED', reason = ''): Promise<BatchStatus | null> {
    const result = await endBatch.run(this.redis, { batch: this.keys.batch(id), active: this.keys.activeBatches() }, { status, now: new Date().toISOString(), reason, id, indexPrefix: this.keys.batches(), schedulePrefix: this.keys.schedulePrefix(), chunkPrefix: this.keys.batchChunkPrefix(id) });
    if (result.ended) await this.ended(id, status);
    return result.status;
  }

  /** Says a batch ended (this call ended it), with its record as it ended. */
  private async ended(id: string, status: EndedBatchEvent['status']): Promise<void> {
    if (!this.events || this.events.listenerCount('ended') === 0) return;
    const batch = await this.get(id).catch(() => null);
    if (batch) this.events.emit('ended', { status, batch });
  }

  /** Status and model of a batch, also while its input is still being read; null when it does not exist. */
  async state(id: string): Promise<BatchState | null> {
    const [status, model, ingested, aliveAt] = await this.redis.hmget(this.keys.batch(id), 'status', 'model', 'ingested', 'aliveAt');
    return isBatchStatus(status) && model ? { status, model, ingested: ingested === '1', aliveAt: Number(aliveAt ?? 0) } : null;
  }

  /** The batch as clients see it; null when it does not exist or its input is still being read. */
  async get(id: string): Promise<BatchSnapshot | null> {
    return toSnapshot(id, await this.redis.hgetall(this.keys.batch(id)));
  }

  /**
   * The batch with where its rows stand, in one read: what a progress relay needs to send rows in
   * input order. Null when it does not exist or its input is still being read.
   */
  async progress(id: string): Promise<BatchProgressState | null> {
    const hash = await this.redis.hgetall(this.keys.batch(id));
    const snapshot = toSnapshot(id, hash);
    if (!snapshot) return null;
    return {
      snapshot,
      model: { name: snapshot.model, version: snapshot.modelVersion, labels: snapshot.labels },
      layout: await this.chunkLayout(id, hash),
      contiguousChunks: Number(hash.contiguousChunks ?? 0),
    };
  }

  /** The numbers of the chunks whose results are stored, in order (names only: no rows are read). */
  async recordedChunks(id: string): Promise<number[]> {
    return (await this.redis.hkeys(this.keys.batchResults(id))).map(Number).sort((a, b) => a - b);
  }

  /** The finished rows of the given chunks, in the order given; chunks not recorded are left out. */
  async rowsOfChunks(id: string, model: RowModel, chunks: readonly number[]): Promise<BatchRowResult[]> {
    const stored = await this.storedChunkResults(id, chunks);
    return stored.flatMap((chunk) => (chunk === null ? [] : decodeChunkResults(chunk, model)));
  }

  /**
   * The bytes each chunk's stored results and, `withInput`, its recorded input hold in Redis (0 for
   * a chunk not recorded), in one round trip: what reading its rows will bring into memory.
   */
  async storedChunkBytes(id: string, chunks: readonly number[], withInput = true): Promise<number[]> {
    const pipeline = this.redis.pipeline();
    for (const chunk of chunks) {
      pipeline.hstrlen(this.keys.batchResults(id), String(chunk));
      if (withInput) pipeline.strlen(this.keys.batchRecordedInput(id, chunk));
    }
    const replies = (await pipeline.exec()) ?? [];
    const sizes = replies.map(([error, size]) => {
      if (error) throw error;
      return Number(size);
    });
    return withInput ? chunks.map((_, i) => sizes[2 * i] + sizes[2 * i + 1]) : sizes;
  }

  /**
   * What one read of rows may bring into memory, so that a download or an event of chunks of the
   * longest rows reads one or two at a time, not eight: the first of `chunks` (always: whether it is
   * recorded is what a reader waits on), then those after it recorded when measured, while they and
   * `held` (what the reader holds already) come to no more than `maxBytes` in Redis
   * (storedChunkBytes: their results, and their recorded input for a read `withInput`). One round
   * trip. Gives the chunks with their sizes (0 for the first when it was not recorded), and
   * `cutAt`, the first chunk left out for not fitting (null when none was): the chunks from there
   * on are for the next read. A chunk not recorded when measured is left out, not read: one
   * recorded since is read, measured, next time.
   */
  async chunksWithin(id: string, chunks: readonly number[], maxBytes: number, withInput = true, held = 0): Promise<ChunksToRead> {
    if (chunks.length === 0) return { chunks: [], bytes: [], cutAt: null };
    const sizes = await this.storedChunkBytes(id, chunks, withInput);
    const read: ChunksToRead = { chunks: [chunks[0]], bytes: [sizes[0]], cutAt: null };
    let total = held + sizes[0];
    for (let i = 1; i < chunks.length; i++) {
      if (sizes[i] === 0) continue;
      if (total + sizes[i] > maxBytes) {
        read.cutAt = chunks[i];
        break;
      }
      read.chunks.push(chunks[i]);
      read.bytes.push(sizes[i]);
      total += sizes[i];
    }
    return read;
  }

  /**
   * The stored results of the given chunks with the input they echo (row-codec.ts), in the order
   * given, null for each chunk not recorded (yet). The results and the recorded inputs are read in
   * that order, in one round trip: a chunk recorded in between is read as not recorded yet, never
   * as results without their input (recording stores both at once, and the input expires after
   * the batch record; see parseChunkResults for an input gone all the same).
   */
  private async storedChunkResults(id: string, chunks: readonly number[]): Promise<(StoredChunkResults | null)[]> {
    if (chunks.length === 0) return [];
    const [values, inputs] = await Promise.all([
      this.redis.hmget(this.keys.batchResults(id), ...chunks.map(String)),
      this.redis.mget(chunks.map((chunk) => this.keys.batchRecordedInput(id, chunk))),
    ]);
    return values.map((value, i) => (value === null ? null : parseChunkResults(value, inputs[i])));
  }

  /** The model a batch's rows are decoded against, and which rows its chunks hold; null when it does not exist. */
  private async layout(id: string): Promise<{ model: RowModel; layout: ChunkLayout } | null> {
    const [name, version, labels, chunkSize, cutChunks, chunks, total, ingested] = await this.redis.hmget(
      this.keys.batch(id),
      'model',
      'modelVersion',
      'labels',
      'chunkSize',
      'cutChunks',
      'chunks',
      'total',
      'ingested',
    );
    if (name === null || chunkSize === null) return null;
    return {
      model: { name, version: version ?? '', labels: labels ? (JSON.parse(labels) as string[]) : [] },
      layout: await this.chunkLayout(id, { chunkSize, cutChunks, chunks, total, ingested }),
    };
  }

  /**
   * Which rows a batch's chunks hold, from its record's fields: with no chunk cut short (nearly
   * every batch), from the record alone; else with its cuts, read once per process once its input
   * is read (they never change after; see CutLayouts).
   */
  private async chunkLayout(id: string, fields: LayoutFields): Promise<ChunkLayout> {
    const chunkSize = Number(fields.chunkSize);
    const chunks = fields.chunks == null ? null : Number(fields.chunks);
    const total = Number(fields.total ?? 0);
    if (!Number(fields.cutChunks ?? 0)) return ChunkLayout.ofRecord(chunkSize, null, chunks, total);
    const cached = this.cutLayouts.get(id);
    if (cached) return cached;
    const layout = ChunkLayout.ofRecord(chunkSize, await this.redis.get(this.keys.batchChunkCuts(id)), chunks, total);
    if (fields.ingested === '1') this.cutLayouts.set(id, layout);
    return layout;
  }

  /** The finished rows of chunks `first` to `last`, in input order. */
  private chunkResults(id: string, model: RowModel, first: number, last: number): Promise<BatchRowResult[]> {
    return this.rowsOfChunks(id, model, chunkRange(first, last));
  }

  /** Finished rows in input order from `offset`, at most `limit` of them. */
  async results(id: string, offset: number, limit: number): Promise<BatchRowResult[]> {
    if (limit <= 0) return [];
    const layout = await this.layout(id);
    if (!layout) return [];
    const end = offset + limit;
    const rows = await this.chunkResults(id, layout.model, layout.layout.chunkOf(offset), layout.layout.chunkOf(end - 1));
    return rows.filter((row) => row.index >= offset && row.index < end);
  }

  /**
   * Every finished row among the first `total`, in input order, as stored (a download formats
   * them without the objects GraphQL answers with; see storedChunks for `withInput`),
   * up to `chunksPerRead` chunks at a time and no more than READ_BYTES of them (one at least), so
   * a download of any size holds a few chunks in memory. Chunks not finished yet are left out.
   */
  async *allResults(id: string, total: number, withInput = true, chunksPerRead = 4): AsyncGenerator<ResultChunk[]> {
    const layout = await this.layout(id);
    if (!layout) return;
    const chunks = layout.layout.chunkOf(total - 1) + 1;
    for (let first = 0; first < chunks; ) {
      const last = Math.min(first + chunksPerRead, chunks) - 1;
      const read = await this.chunksWithin(id, chunkRange(first, last), READ_BYTES, withInput);
      first = read.cutAt ?? last + 1;
      const stored = (await this.storedChunks(id, read.chunks, withInput)).filter((chunk) => chunk !== null);
      if (stored.length > 0) yield stored;
    }
  }

  /** How many chunks the first `total` rows of a batch take; null when the batch does not exist. */
  async chunkCount(id: string, total: number): Promise<number | null> {
    const layout = await this.layout(id);
    return layout && layout.layout.chunkOf(total - 1) + 1;
  }

  /**
   * The stored results of the given chunks, in that order, null for each chunk not recorded (yet):
   * with `withInput`, parsed with their ids and texts; without, only their outcomes, unparsed: a
   * download that echoes neither reads a third of the bytes (not the input) and formats them from
   * the text.
   */
  async storedChunks(id: string, chunks: readonly number[], withInput: boolean): Promise<(ResultChunk | null)[]> {
    if (chunks.length === 0) return [];
    if (withInput) return this.storedChunkResults(id, chunks);
    // As bytes: only the outcomes among them become a string (see chunkOutcomesOf).
    const values = await this.redis.hmgetBuffer(this.keys.batchResults(id), ...chunks.map(String));
    return values.map((value) => (value === null ? null : chunkOutcomesOf(value)));
  }

  /** Whether Redis answers on the store's connection (for `/readyz`). */
  async ping(): Promise<{ ok: boolean; detail: string }> {
    if (this.redis.status !== 'ready') return { ok: false, detail: `Redis connection is ${this.redis.status}` };
    return { ok: (await this.redis.ping()) === 'PONG', detail: 'ok' };
  }

  /**
   * Claims an idempotency key for a submit that is about to read its input: the claim (a value of
   * its own, `pending:<random>`) when this submit is the first with the key, null when another
   * holds it (the others then wait for `idempotentBatch`). The claim lasts `claimMs` unless its
   * submit renews it (renewIdempotencyClaim) while it reads: a submit whose API process died
   * mid-upload leaves a claim that lapses, not one that holds the key for the batch retention (the
   * client's retry with the same key waited a minute, then was refused for 7 days).
   */
  async claimIdempotencyKey(key: string, claimMs: number): Promise<string | null> {
    const claim = `${PENDING_BATCH}:${randomUUID()}`;
    return (await this.redis.set(this.keys.idempotency(key), claim, 'PX', claimMs, 'NX')) === 'OK' ? claim : null;
  }

  /** Renews a submit's claim on its key for another `claimMs`, if the key still holds that claim. */
  async renewIdempotencyClaim(key: string, claim: string, claimMs: number): Promise<boolean> {
    return renewClaim.run(this.redis, { claim: this.keys.idempotency(key) }, { value: claim, ms: claimMs });
  }

  /**
   * Records the batch a claimed idempotency key created, and the fingerprint of its input, in place
   * of the claim: false when the key no longer holds that claim (it lapsed, and another submit may
   * have taken the key), which is then left as it is.
   */
  async recordIdempotentBatch(key: string, claim: string, batchId: string, fingerprint: string): Promise<boolean> {
    return recordClaim.run(this.redis, { claim: this.keys.idempotency(key) }, { value: claim, record: JSON.stringify({ batch: batchId, fingerprint }), seconds: this.retentionSeconds });
  }

  /** Gives a claimed key up again (its submit failed), so a retry can claim it; only while it holds that claim. */
  async releaseIdempotencyKey(key: string, claim: string): Promise<void> {
    await releaseClaim.run(this.redis, { claim: this.keys.idempotency(key) }, { value: claim });
  }

  /** What a key holds: 'pending' while its first submit still reads its input, null when unclaimed. */
  async idempotentBatch(key: string): Promise<IdempotentBatch | typeof PENDING_BATCH | null> {
    const value = await this.redis.get(this.keys.idempotency(key));
    if (value === null) return null;
    // A claim: `pending:<random>`, or `pending` as releases before claims of their own wrote it.
    if (value === PENDING_BATCH || value.startsWith(`${PENDING_BATCH}:`)) return PENDING_BATCH;
    // A key recorded by an earlier build holds the batch id alone, with no fingerprint to compare.
    return value.startsWith('{') ? (JSON.parse(value) as IdempotentBatch) : { batch: value, fingerprint: null };
  }

  /** Removes every key of a batch whose input turned out to be bad, and its place in the chunk schedule (its queued jobs are the queue's). */
  async discard(id: string, chunks: number): Promise<void> {
    const keys = [this.keys.batch(id), this.keys.batchResults(id), this.keys.batchChunkCuts(id)];
    for (let chunk = 0; chunk < chunks; chunk++) keys.push(this.keys.batchChunk(id, chunk), this.keys.batchRecordedInput(id, chunk));
    await dropScheduled.run(this.redis, {}, { schedulePrefix: this.keys.schedulePrefix(), id });
    await this.redis.multi().del(...keys).zrem(this.keys.activeBatches(), id).exec();
  }

  /** Batches not ended whose last sign of life is older than `quietMs`, oldest first, at most `limit`. */
  async quietBatches(quietMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.activeBatches(), '-inf', Date.now() - quietMs, 'LIMIT', 0, limit);
  }

  /** Claims the sweeper's turn for `ms` (true when this caller got it): one sweeper at a time. */
  async claimSweep(owner: string, ms: number): Promise<boolean> {
    return (await this.redis.set(this.keys.sweeperLock(), owner, 'PX', ms, 'NX')) === 'OK';
  }

  /** Marks a batch as just looked at, so the sweeper looks again only after another quiet spell. */
  async touchActive(id: string): Promise<void> {
    await this.redis.zadd(this.keys.activeBatches(), 'XX', Date.now(), id);
  }

  /** Takes a batch out of the index of active batches (it ended, or is gone). */
  async forgetActive(id: string): Promise<void> {
    await this.redis.zrem(this.keys.activeBatches(), id);
  }

  /** What the sweeper needs of a batch's record; null when the record is gone. */
  async sweepState(id: string): Promise<SweepState | null> {
    const [status, ingested, chunks, queuedChunks, aliveAt] = await this.redis.hmget(this.keys.batch(id), 'status', 'ingested', 'chunks', 'queuedChunks', 'aliveAt');
    if (!isBatchStatus(status)) return null;
    return { status, ingested: ingested === '1', chunks: Number(chunks ?? 0), queuedChunks: Number(queuedChunks ?? 0), aliveAt: Number(aliveAt ?? 0) };
  }

  /**
   * How each chunk of a batch stands, read in an order that cannot race a worker: whether its job
   * exists (`jobsKey`, bee-queue's hash of jobs), then whether its input exists, then whether its
   * results are recorded. Recording moves the input away (to the chunk's recorded input) in the
   * same step, so a chunk whose job and input are both gone and whose results are not recorded
   * was really lost.
   */
  async chunkStates(id: string, chunks: readonly number[], jobsKey: string, jobIdOf: (chunk: number) => string): Promise<ChunkState[]> {
    if (chunks.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const chunk of chunks) {
      pipeline.hexists(jobsKey, jobIdOf(chunk));
      pipeline.exists(this.keys.batchChunk(id, chunk));
      pipeline.hexists(this.keys.batchResults(id), String(chunk));
    }
    const replies = ((await pipeline.exec()) ?? []).map(([error, value]) => {
      if (error) throw error;
      return Number(value) === 1;
    });
    return chunks.map((chunk, i) => {
      const [queued, input, recorded] = replies.slice(i * 3, i * 3 + 3);
      return { chunk, state: recorded ? 'recorded' : queued ? 'queued' : input ? 'unqueued' : 'lost' };
    });
  }

  /**
   * Batches, most recent first, after `cursor`: every batch, or one owner's, optionally of one
   * status. Each such list is an index of its own (kept by the status scripts, see
   * status-index.ts), so a page costs one range read and one read per batch on it, however many
   * batches there are. The cursor is the creation time and id of the last batch seen, so new
   * batches never shift a page. Entries of batches whose retention ran out are dropped as met.
   */
  async list(first: number, after: string | null, filter: { owner: string | null; status: BatchStatus | null }): Promise<BatchPage> {
    const index = this.keys.batchIndex(filter);
    await this.redis.zremrangebyscore(index, '-inf', Date.now() - this.retentionSeconds * 1000);
    const [afterScore, afterId] = after ? decodeCursor(after) : [Number.POSITIVE_INFINITY, ''];
    const edges: BatchPage['edges'] = [];
    let offset = 0;
    let exhausted = false;
    while (edges.length <= first && !exhausted) {
      const max = Number.isFinite(afterScore) ? String(afterScore) : '+inf';
      const want = first + 1 - edges.length;
      const page = await this.redis.zrevrangebyscore(index, max, '-inf', 'WITHSCORES', 'LIMIT', offset, want + 1);
      offset += page.length / 2;
      exhausted = page.length / 2 < want + 1;
      const entries: [string, number][] = [];
      for (let i = 0; i < page.length; i += 2) {
        const [id, score] = [page[i], Number(page[i + 1])];
        if (score === afterScore && id >= afterId) continue;
        entries.push([id, score]);
      }
      const pipeline = this.redis.pipeline();
      for (const [id] of entries) pipeline.hgetall(this.keys.batch(id));
      const hashes = (await pipeline.exec()) ?? [];
      const gone: string[] = [];
      entries.forEach(([id, score], i) => {
        const node = toSnapshot(id, (hashes[i]?.[1] ?? {}) as Record<string, string>);
        if (!node) gone.push(id);
        else if (edges.length <= first) edges.push({ cursor: encodeCursor(score, id), node });
      });
      if (gone.length > 0) await this.redis.zrem(index, ...gone);
    }
    const hasNextPage = edges.length > first;
    const page = edges.slice(0, first);
    return { edges: page, hasNextPage, endCursor: page.at(-1)?.cursor ?? null };
  }
}

function encodeCursor(score: number, id: string): string {
  return Buffer.from(`${score}:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): [number, string] {
  const [score, ...id] = Buffer.from(cursor, 'base64url').toString().split(':');
  return [Number(score), id.join(':')];
}
