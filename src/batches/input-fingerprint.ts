import { createHash, type Hash } from 'node:crypto';
import { DEFAULT_PRIORITY, type BatchPriority } from './batch-priority';
import type { InputRow } from './batch-types';

/**
 * What a batch's content hashes to: its model, its priority and every row's id and text, in
 * order. Two submits with one idempotency key must agree on it: the same file (or texts) with the
 * same model and options gives the same fingerprint, whatever the format it came in; anything
 * else is a conflict.
 */
export class InputFingerprint {
  private readonly hash: Hash = createHash('sha256');

  constructor(model: string, priority: BatchPriority = DEFAULT_PRIORITY) {
    this.hash.update(JSON.stringify(model));
    // NORMAL adds nothing, so batches recorded before priorities existed keep their fingerprint.
    if (priority !== DEFAULT_PRIORITY) this.hash.update(`\npriority:${priority}`);
  }

  add(rows: readonly InputRow[]): void {
    // JSON keeps the boundaries between id and text (and rows) unambiguous.
    for (const row of rows) this.hash.update(`\n${JSON.stringify(row.id)},${JSON.stringify(row.text)}`);
  }

  digest(): string {
    return this.hash.digest('base64url');
  }
}
