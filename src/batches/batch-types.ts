import { ErrorCodes, userError, type SiftError } from '../errors';
import type { Prediction } from '../predictions/prediction';
import type { BatchPriority } from './batch-priority';
import type { BatchStatus } from './batch-status';
import type { TraceCarrier } from '../tracing/spans';

/** One input row as ingested: its position, the id column's value, and the text (null when the field was missing). */
export interface InputRow {
  index: number;
  id: string | null;
  text: string | null;
}

/** One finished row (GraphQL `BatchRow`). */
export interface BatchRowResult {
  index: number;
  id: string | null;
  text: string;
  prediction: Prediction | null;
  error: string | null;
}

/** A batch as clients see it (GraphQL `Batch`, without its results). */
export interface BatchSnapshot {
  id: string;
  /** The API key id that submitted it (`local` with auth off); never shown to other clients. */
  owner: string;
  status: BatchStatus;
  /** Where its chunks stand in the schedule (see chunk-schedule.ts). */
  priority: BatchPriority;
  model: string;
  modelVersion: string;
  /** The model's labels when the batch was created (the order of its score columns). */
  labels: string[];
  total: number;
  processed: number;
  succeeded: number;
  failed: number;
  cached: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  rowsPerSecond: number | null;
  etaSeconds: number | null;
  error: string | null;
  /** Succeeded rows by predicted label, in the model's label order (0 for a label no row got). */
  labelCounts: LabelCount[];
}

/** How many of a batch's rows got one label. */
export interface LabelCount {
  label: string;
  count: number;
}

/** The work a bee-queue job carries: which chunk of which batch. */
export interface ChunkJob {
  batchId: string;
  chunk: number;
  /**
   * The trace context the chunk was queued in (W3C `traceparent`, `tracestate`): its batch
   * submission's, so the chunk's span on a worker joins that trace. Absent with tracing off, and
   * in jobs queued by the sweeper or by a Sift that did not send it: the chunk then starts a trace
   * of its own.
   */
  trace?: TraceCarrier;
}

/** The caller's error for a batch id that does not exist (or whose retention ran out). */
export function unknownBatch(id: string): SiftError {
  return userError(ErrorCodes.UNKNOWN_BATCH, `No batch has the id ${JSON.stringify(id)} (or it expired).`);
}
