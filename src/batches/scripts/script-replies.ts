import { isBatchStatus, type BatchStatus } from '../batch-status';

/** A status a script returned; '' (no such batch) is null. Anything else is a bug worth failing on. */
export function statusReply(script: string, raw: unknown): BatchStatus | null {
  if (raw === '' || raw === null) return null;
  if (!isBatchStatus(raw)) throw new Error(`${script} returned ${JSON.stringify(raw)}, not a batch status`);
  return raw;
}
