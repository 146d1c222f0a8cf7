import { createHash, type Hash } from 'node:crypto';
import { DEFAULT_PRIORITY, type BatchPriority } from './batch-priority';
import type { InputRow } from './batch-types';

/**
 * What a batch's content hashes to: its model, its priority and every row's id and text as stored,
 * in order. Two submits with one idempotency key must agree on it: the same file (or texts) with
 * the same model and options gives the same fingerprint, whatever the format it came in and
 * however it is cut into chunks; anything else is a conflict.
 *
 * It hashes the rows' JSON that the chunks are stored as (storedRowsJson, row-codec.ts), which
 * the upload makes anyway: `sift batch` sends an idempotency key with every upload, and hashing
 * each row again on its own (LegacyInputFingerprint) cost the API 76 to 112 ms of a 200,000-row
 * file. Rows are hashed as stored, so a text is hashed as far as the server keeps it (its first
 * 2 × maxTextLength + 2 UTF-16 units, row-bounds.ts): two inputs that differ only past that make
 * the same batch, and count as the same.
 */
export class InputFingerprint {
  private readonly hash: Hash;
  private rows = false;

  constructor(model: string, priority: BatchPriority = DEFAULT_PRIORITY) {
    this.hash = createHash('sha256').update(JSON.stringify(model));
    if (priority !== DEFAULT_PRIORITY) this.hash.update(`\npriority:${priority}`);
    this.hash.update('\n');
  }

  /**
   * Rows stored as `rowsJson` (a JSON array of [id, text] pairs, storedRowsJson), in order after
   * those given before. Hashed as one JSON array of all the rows, so any cut into chunks hashes alike.
   */
  addStoredRows(rowsJson: string): void {
    if (rowsJson.length <= 2) return; // []
    if (this.rows) this.hash.update(',');
    this.hash.update(rowsJson.slice(1, -1));
    this.rows = true;
  }

  digest(): string {
    return `${STORED_ROWS_FORM}${this.hash.digest('base64url')}`;
  }
}

/** How a digest of InputFingerprint begins: a base64url digest (LegacyInputFingerprint's) never holds a dot. */
const STORED_ROWS_FORM = 'r2.';

/** Whether `digest` is LegacyInputFingerprint's (recorded by a release before InputFingerprint). */
export function isLegacyFingerprint(digest: string): boolean {
  return !digest.startsWith(STORED_ROWS_FORM);
}

/**
 * The fingerprint releases before InputFingerprint recorded: each row's id and text as JSON
 * strings, one line a row, the text whole. Kept to compare a request with a key such a release
 * recorded (for the batch retention, 7 days by default); only a replay of such a key computes it.
 */
export class LegacyInputFingerprint {
  private readonly hash: Hash = createHash('sha256');

  constructor(model: string, priority: BatchPriority = DEFAULT_PRIORITY) {
    this.hash.update(JSON.stringify(model));
    if (priority !== DEFAULT_PRIORITY) this.hash.update(`\npriority:${priority}`);
  }

  add(rows: readonly InputRow[]): void {
    let text = '';
    for (const row of rows) text += `\n${JSON.stringify(row.id)},${JSON.stringify(row.text)}`;
    this.hash.update(text);
  }

  digest(): string {
    return this.hash.digest('base64url');
  }
}
