import { ErrorCodes, userError, type SiftError } from '../errors';
import type { UploadLimit } from '../metrics/upload-metrics';

/** How many uploads one API process reads at once (`SIFT_MAX_UPLOADS_PER_KEY`, `SIFT_MAX_UPLOADS`). */
export interface UploadSlotLimits {
  /** Uploads in progress at once for one API key (one client address with auth off). */
  perKey: number;
  /** Uploads in progress at once, every key's together. */
  total: number;
}

/** How long a refused upload is told to wait: most uploads take seconds. */
const UPLOAD_SLOT_RETRY_SECONDS = 5;

/**
 * The uploads this API process is reading, bounded per key and in all. Each holds a connection,
 * a chunk or two of parsed rows and their writes to Redis for as long as its client keeps sending
 * (the idle timeout ends silence, not slowness), and one of hostile rows holds hundreds of MB. The
 * batch rate limit bounds how fast uploads start, not how many run at once: without this, one key
 * could open a hundred at a time. Counted in this process, since its memory is what they hold.
 */
export class UploadSlots {
  private readonly byKey = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly limits: UploadSlotLimits,
    /** Told of each slot taken and given back, and each refusal (`sift_uploads_*`, upload-metrics.ts). */
    private readonly observer?: { started(): void; ended(): void; refused(limit: UploadLimit): void },
  ) {}

  /** Uploads in progress now. */
  get inProgress(): number {
    return this.total;
  }

  /** Whether every slot of the process is taken. */
  get full(): boolean {
    return this.total >= this.limits.total;
  }

  /** Who holds the slots, for the log of a refusal: each rate key (`key:<id>`, `address:<ip>`) and its uploads, most first. */
  holders(): string {
    return [...this.byKey].sort((a, b) => b[1] - a[1]).map(([key, held]) => `${key} ${held}`).join(', ');
  }

  /**
   * Takes a slot for an upload by `rateKey` (its principal's), or throws TOO_MANY_UPLOADS (HTTP 429
   * with Retry-After) saying which limit it met. The function given back frees the slot; calling it
   * again does nothing.
   */
  take(rateKey: string): () => void {
    const held = this.byKey.get(rateKey) ?? 0;
    if (held >= this.limits.perKey) throw this.refusal('key', `${held} uploads of this API key (of this client address, with auth off) are in progress on this server already, the most SIFT_MAX_UPLOADS_PER_KEY allows`);
    if (this.total >= this.limits.total) throw this.refusal('server', `This server already reads ${this.total} uploads, the most SIFT_MAX_UPLOADS allows`);
    this.byKey.set(rateKey, held + 1);
    this.total++;
    this.observer?.started();
    let freed = false;
    return () => {
      if (freed) return;
      freed = true;
      this.total--;
      this.observer?.ended();
      const left = this.byKey.get(rateKey)! - 1;
      if (left === 0) this.byKey.delete(rateKey);
      else this.byKey.set(rateKey, left);
    };
  }

  private refusal(limit: UploadLimit, what: string): SiftError {
    this.observer?.refused(limit);
    return userError(
      ErrorCodes.TOO_MANY_UPLOADS,
      `${what}; nothing of this one was read. Send it again once one of them has finished.`,
      {},
      UPLOAD_SLOT_RETRY_SECONDS,
    );
  }
}
