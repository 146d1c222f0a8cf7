/**
 * A batch's status, the one definition every part uses: the server's store and services, the
 * GraphQL enum (registered from this object), the command line, the web page and the tests.
 * Statuses only move forward: QUEUED -> RUNNING -> one of the final three. No imports, so the
 * web page can bundle it.
 */
export const BatchStatus = {
  QUEUED: 'QUEUED',
  RUNNING: 'RUNNING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
} as const;

export type BatchStatus = (typeof BatchStatus)[keyof typeof BatchStatus];

/** Every status, in the order a batch can reach them. */
export const BATCH_STATUSES: readonly BatchStatus[] = Object.values(BatchStatus);

/** The statuses a batch ends with; no event follows one of them. */
export const FINAL_STATUSES: readonly BatchStatus[] = [BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.CANCELLED];

export function isBatchStatus(value: unknown): value is BatchStatus {
  return typeof value === 'string' && (BATCH_STATUSES as readonly string[]).includes(value);
}

/** True for a status no batch leaves (takes any string, so clients can pass what they received). */
export function isFinalStatus(status: string): boolean {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}
