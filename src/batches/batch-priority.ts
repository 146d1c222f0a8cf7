/**
 * How urgent a batch is, the one definition every part uses (the store, the GraphQL enum, the
 * upload route, the command line and the web page). HIGH chunks go before NORMAL ones, NORMAL
 * before LOW, and LOW still gets a share of the workers (see chunk-schedule.ts). No imports, so
 * the web page can bundle it.
 */
export const BatchPriority = {
  HIGH: 'HIGH',
  NORMAL: 'NORMAL',
  LOW: 'LOW',
} as const;

export type BatchPriority = (typeof BatchPriority)[keyof typeof BatchPriority];

/** Every priority, most urgent first. */
export const BATCH_PRIORITIES: readonly BatchPriority[] = Object.values(BatchPriority);

export const DEFAULT_PRIORITY: BatchPriority = BatchPriority.NORMAL;

export function isBatchPriority(value: unknown): value is BatchPriority {
  return typeof value === 'string' && (BATCH_PRIORITIES as readonly string[]).includes(value);
}

/** A priority given in any case (`high`, `High`, `HIGH`), as the API names it; null for anything else. */
export function priorityNamed(value: string): BatchPriority | null {
  const priority = value.toUpperCase();
  return isBatchPriority(priority) ? priority : null;
}
