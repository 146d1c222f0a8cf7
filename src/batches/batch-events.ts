import { EventEmitter } from 'node:events';
import type { BatchSnapshot } from './batch-types';

/** A batch whose input was read to the end. */
export interface SubmittedBatchEvent {
  id: string;
  model: string;
  rows: number;
  /** The name of the API key that submitted it. */
  by: string;
}

/** A batch that ended, as its record says once it has. */
export interface EndedBatchEvent {
  status: 'COMPLETED' | 'FAILED' | 'CANCELLED';
  batch: BatchSnapshot;
}

/**
 * What happens to batches in this process, each said once across every process: `submitted` by
 * the API that read its input, `started` by the worker that counted its first chunk, `ended` by
 * whichever process made the change (the worker that counted the last chunk, the API that
 * cancelled it, the worker whose chunk failed for good, the sweeper). Logs and metrics listen
 * here; nothing else decides what a batch event is.
 */
export type BatchEventMap = {
  submitted: [batch: SubmittedBatchEvent];
  started: [id: string];
  ended: [event: EndedBatchEvent];
};

export class BatchEvents extends EventEmitter<BatchEventMap> {}
