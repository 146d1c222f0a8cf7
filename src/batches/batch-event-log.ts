import type { Logger } from '../logger';
import type { BatchEvents, EndedBatchEvent, SubmittedBatchEvent } from './batch-events';

/** The `event` field of each batch event's line: `batch.submitted`, `batch.started`, `batch.completed`, ... */
export type BatchLogEvent = 'batch.submitted' | 'batch.started' | 'batch.completed' | 'batch.failed' | 'batch.cancelled';

const round = (value: number, places: number) => Number(value.toFixed(places));

/** The fields of an ended batch's line: its counts, how long it ran and how fast, and why it failed. */
function endedFields({ status, batch }: EndedBatchEvent): Record<string, unknown> {
  // End to end: from the upload's start (the record's creation) to the end, upload and queue included.
  const seconds = ((batch.finishedAt ?? new Date()).getTime() - batch.createdAt.getTime()) / 1000;
  const rowsPerSecond = seconds > 0 ? batch.processed / seconds : null;
  return {
    event: `batch.${status.toLowerCase()}` as BatchLogEvent,
    batchId: batch.id,
    model: batch.model,
    rows: batch.total,
    processed: batch.processed,
    succeeded: batch.succeeded,
    failed: batch.failed,
    cached: batch.cached,
    seconds: round(seconds, 3),
    rowsPerSecond: rowsPerSecond === null ? null : round(rowsPerSecond, 1),
    ...(batch.error ? { error: batch.error } : {}),
  };
}

function endedMessage({ status, batch }: EndedBatchEvent, fields: Record<string, unknown>): string {
  const rate = ` in ${String(fields.seconds)} s${fields.rowsPerSecond === null ? '' : ` (${String(fields.rowsPerSecond)} rows/s)`}`;
  const why = batch.error ? `: ${batch.error}` : '';
  return `batch ${batch.id} ${status.toLowerCase()}: ${batch.processed} of ${batch.total} rows processed (${batch.succeeded} succeeded, ${batch.failed} failed, ${batch.cached} from the cache)${rate}${why}`;
}

/**
 * One `info` line per batch event this process sees (see batch-events.ts: each event is said by
 * exactly one process), with `event` and `batchId` fields to follow a batch across processes:
 * submitted (rows, model, and `by`, the API key's name), started, then completed, failed or
 * cancelled (counts, seconds, rows/s, and the error of a failed one). Returns how to stop.
 */
export function logBatchEvents(events: BatchEvents, logger: Logger): () => void {
  const submitted = ({ id, rows, model, by }: SubmittedBatchEvent) =>
    logger.info(`batch ${id} submitted: ${rows} rows for model ${model}, by ${by}`, { event: 'batch.submitted' satisfies BatchLogEvent, batchId: id, rows, model, by });
  const started = (id: string) => logger.info(`batch ${id} started`, { event: 'batch.started' satisfies BatchLogEvent, batchId: id });
  const ended = (event: EndedBatchEvent) => {
    const fields = endedFields(event);
    logger.info(endedMessage(event, fields), fields);
  };
  events.on('submitted', submitted);
  events.on('started', started);
  events.on('ended', ended);
  return () => {
    events.off('submitted', submitted);
    events.off('started', started);
    events.off('ended', ended);
  };
}
