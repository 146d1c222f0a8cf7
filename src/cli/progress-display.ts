import type { BatchFieldsFragment } from '../client/generated/graphql';
import { count } from './counts';

/** What the display shows of a batch: part of the generated client's `BatchFields`. */
export type ProgressSnapshot = Pick<BatchFieldsFragment, 'id' | 'status' | 'total' | 'processed' | 'succeeded' | 'failed' | 'cached' | 'rowsPerSecond' | 'etaSeconds'>;

function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The numbers of a snapshot in words, shared by the bar and the plain lines. */
export function progressWords(batch: ProgressSnapshot): string {
  const percent = batch.total > 0 ? Math.floor((100 * batch.processed) / batch.total) : 0;
  const rate = batch.rowsPerSecond ? `${count(Math.round(batch.rowsPerSecond))} rows/s` : '- rows/s';
  return `${count(batch.processed)}/${count(batch.total)} ${percent}%  ${rate}  ETA ${duration(batch.etaSeconds)}  cached ${count(batch.cached)}  failed ${count(batch.failed)}`;
}

/**
 * Shows a batch's progress on a terminal: a bar redrawn in place on a TTY (at most 10 times a
 * second), otherwise a plain line every `intervalMs` (CI logs, pipes) and one at the end.
 */
export class ProgressDisplay {
  private last = 0;
  private latest: ProgressSnapshot | null = null;
  private shown: ProgressSnapshot | null = null;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty: boolean = Boolean(out.isTTY),
    private readonly intervalMs = 3000,
  ) {}

  update(batch: ProgressSnapshot): void {
    this.latest = batch;
    const now = Date.now();
    if (now - this.last < (this.tty ? 100 : this.intervalMs)) return;
    this.last = now;
    this.draw(batch);
  }

  /** Draws the final state and leaves the line. */
  finish(): void {
    if (this.latest && this.latest !== this.shown) this.draw(this.latest);
    if (this.tty && this.drawn) this.out.write('\n');
    this.drawn = false;
  }

  /** Clears the bar, so a question or message can be printed on a clean line. */
  clear(): void {
    if (this.tty && this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  private draw(batch: ProgressSnapshot): void {
    this.shown = batch;
    if (!this.tty) {
      this.out.write(`progress: ${progressWords(batch)}  ${batch.status}\n`);
      return;
    }
    const width = 24;
    const filled = batch.total > 0 ? Math.round((width * batch.processed) / batch.total) : 0;
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    this.out.write(`\r\x1b[2K${bar} ${progressWords(batch)}`);
    this.drawn = true;
  }
}
