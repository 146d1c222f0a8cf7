import { css, html, LitElement, type PropertyValues } from 'lit';
import { BatchDocument, BatchProgressDocument, BatchResultsDocument, CancelBatchDocument, type BatchFieldsFragment } from '../../src/client/generated/graphql';
import { isFinalStatus } from '../../src/batches/batch-status';
import { request, type ApiError } from './api';
import { apiKey } from './api-key';
import { batchRows, batchRowsStyles } from './batch-rows';
import './copy-button';
import { saveWithKey } from './download';
import { count, duration, elapsed, eta, timeElement } from './format';
import { labelChart, labelChartStyles } from './label-chart';
import { subscribeLive } from './live-subscription';
import { inWords } from './messages';
import { RowWindow } from './row-window';
import { statusBadge } from './status-badge';
import { shared } from './styles';

/**
 * One batch: its status, counts, times and rows per label (as the server counts them), live from
 * the batchProgress subscription while it runs; cancel (after a confirmation); downloads; and the
 * newest finished rows, with paging back through earlier ones. Opening the link later shows the
 * same batch; an id no batch has says so and links back, without connecting. When the connection
 * drops (the API restarted, the network went), it says "Connection lost; reconnecting…" and
 * subscribes again from the row after the newest it holds (fromRow), so no row is missed or shown
 * twice.
 */
export class BatchLiveView extends LitElement {
  static properties = {
    batchId: { attribute: 'batch-id' },
    batch: { state: true },
    missing: { state: true },
    error: { state: true },
    confirming: { state: true },
    busy: { state: true },
    reconnecting: { state: true },
  };
  static styles = [
    shared,
    labelChartStyles,
    batchRowsStyles,
    css`
      .title { display: flex; align-items: center; gap: 0.5rem; min-width: 0; }
      .title h2 { margin: 0; min-width: 0; display: flex; gap: 0.4rem; align-items: baseline; }
      .title code { font-size: 1.05rem; }
      .summary { display: flex; flex-wrap: wrap; align-items: center; gap: 0.25rem 0.75rem; margin: 0.75rem 0 0.5rem; }
      progress { width: 100%; height: 1.25rem; accent-color: var(--accent-strong); }
      .stats, .times { display: flex; flex-wrap: wrap; gap: 0.15rem 1.25rem; margin: 0.4rem 0; }
      .actions { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; margin-top: 0.75rem; }
      .actions button { margin-top: 0; }
      .actions a { display: inline-block; padding: 0.45rem 0.8rem; border: 1px solid var(--accent); border-radius: 6px; color: var(--accent); text-decoration: none; white-space: nowrap; }
      .confirm { border: 1px solid var(--cancelled-fg); background: var(--cancelled-bg); color: var(--fg); border-radius: 8px; padding: 0.75rem; margin-top: 0.75rem; }
      .confirm p { margin: 0 0 0.5rem; }
      .confirm .actions { margin-top: 0; }
      .pager { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; margin: 0.25rem 0 0.75rem; }
      .pager p { margin: 0; flex: 1 1 16rem; }
      .pager button { margin-top: 0; }
      .reconnecting { color: var(--muted); font-size: 0.9rem; white-space: nowrap; }
    `,
  ];

  batchId = '';
  batch: BatchFieldsFragment | null = null;
  /** True when no batch has the id. */
  missing = false;
  error = '';
  confirming = false;
  busy = false;
  /** True from a dropped connection until events flow again. */
  reconnecting = false;
  private rows = new RowWindow(() => Promise.resolve([]));
  private stop?: () => void;
  private clock?: ReturnType<typeof setInterval>;

  protected willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('batchId')) void this.follow();
  }

  disconnectedCallback(): void {
    this.stop?.();
    clearInterval(this.clock);
    super.disconnectedCallback();
  }

  private async follow(): Promise<void> {
    this.stop?.();
    this.stop = undefined;
    const id = this.batchId;
    this.batch = null;
    this.missing = false;
    this.error = '';
    this.confirming = false;
    this.reconnecting = false;
    this.rows = new RowWindow(async (offset, limit) => (await request(BatchResultsDocument, { id, offset, limit })).batch?.results ?? []);
    let batch: BatchFieldsFragment | null;
    try {
      batch = (await request(BatchDocument, { id })).batch;
    } catch (error) {
      if (id === this.batchId) this.error = inWords(error);
      return;
    }
    if (id !== this.batchId) return;
    if (!batch) {
      this.missing = true;
      return;
    }
    this.show(batch);
    if (isFinalStatus(batch.status)) {
      // It will not change again: its record says all; no subscription.
      await this.loadNewest(id, batch);
      return;
    }
    // Where the current subscription started: null for "from now on" (then rows finished before
    // it are read from the results), else the row after the newest the table held.
    let fromRow: number | null = null;
    const rows = this.rows;
    this.stop = subscribeLive(
      BatchProgressDocument,
      () => {
        fromRow = rows.resumeFrom();
        return { id, fromRow };
      },
      {
        next: ({ batchProgress }, fresh) => {
          if (id !== this.batchId) return;
          this.reconnecting = false;
          this.show(batchProgress.batch);
          // The first event is a snapshot without rows: rows finished before it are read from the results.
          if (fresh && fromRow === null) void this.loadNewest(id, batchProgress.batch);
          rows.add(batchProgress.rows);
          this.requestUpdate();
        },
        reconnecting: () => {
          if (id === this.batchId) this.reconnecting = true;
        },
        error: (error: ApiError) => {
          if (id !== this.batchId) return;
          this.reconnecting = false;
          if (error.reason === 'UNKNOWN_BATCH') this.missing = true;
          else this.error = inWords(error);
        },
        complete: () => undefined,
      },
      // A subscription also completes when its server shuts down: only one after the final status is the end.
      { ended: (last) => last !== null && isFinalStatus(last.batchProgress.batch.status) },
    );
  }

  private show(batch: BatchFieldsFragment): void {
    this.batch = batch;
    const running = !isFinalStatus(batch.status);
    // While it runs, "running for" moves on by itself.
    if (running && this.clock === undefined) this.clock = setInterval(() => this.requestUpdate(), 1000);
    if (!running) {
      clearInterval(this.clock);
      this.clock = undefined;
      this.confirming = false;
    }
  }

  private async loadNewest(id: string, batch: BatchFieldsFragment): Promise<void> {
    try {
      await this.rows.loadNewest(batch.processed, batch.total);
    } catch (error) {
      if (id === this.batchId) this.error = inWords(error);
    }
    if (id === this.batchId) this.requestUpdate();
  }

  private async move(step: () => Promise<void>): Promise<void> {
    this.busy = true;
    try {
      await step();
      this.error = '';
    } catch (error) {
      this.error = inWords(error);
    } finally {
      this.busy = false;
    }
  }

  private async cancel(): Promise<void> {
    try {
      this.show((await request(CancelBatchDocument, { id: this.batchId })).cancelBatch);
    } catch (error) {
      this.error = inWords(error);
    }
    this.confirming = false;
  }

  /**
   * A download link: followed as it is without an API key; with one, fetched with the key and
   * saved from memory (download.ts says why).
   */
  private download(event: Event, format: 'csv' | 'jsonl'): void {
    if (apiKey.key === null) return;
    event.preventDefault();
    saveWithKey(`/batches/${encodeURIComponent(this.batchId)}/results.${format}`, `${this.batchId}.${format}`).catch((error: unknown) => (this.error = inWords(error)));
  }

  protected updated(changed: PropertyValues<this>): void {
    // The confirmation takes the focus, so a keyboard user answers it next (Escape or Tab, Enter).
    if (changed.has('confirming') && this.confirming) this.renderRoot.querySelector<HTMLButtonElement>('.confirm button.secondary')?.focus();
  }

  private missingBatch() {
    return html`
      <h2>No batch with id <code class="id" title=${this.batchId}>${this.batchId}</code></h2>
      <p class="muted" data-testid="missing">No batch has this id on this server: the link may be cut short, or the batch expired and its results were deleted.</p>
      <p><a href="#/batches">See all batches</a> · <a href="#/batch">Run a batch</a></p>
    `;
  }

  private times(b: BatchFieldsFragment) {
    const ran = elapsed(b);
    const final = isFinalStatus(b.status);
    return html`
      <div class="times muted" data-testid="times">
        <span>Submitted ${timeElement(b.createdAt)}</span>
        ${b.finishedAt ? html`<span>${b.status === 'COMPLETED' ? 'Finished' : 'Ended'} ${timeElement(b.finishedAt)}</span>` : ''}
        <span data-testid="elapsed">${final ? `Took ${duration(ran)}` : b.status === 'QUEUED' ? `Queued for ${duration(ran)}, waiting for a worker` : `Running for ${duration(ran)}`}</span>
      </div>
    `;
  }

  private actions(b: BatchFieldsFragment) {
    const running = !isFinalStatus(b.status);
    const id = encodeURIComponent(this.batchId);
    return html`
      ${this.confirming
        ? html`<div class="confirm" role="alertdialog" aria-label="Cancel the batch?" @keydown=${(e: KeyboardEvent) => e.key === 'Escape' && (this.confirming = false)}>
            <p><strong>Cancel this batch?</strong> The ${count(b.total - b.processed)} rows not labelled yet will not be. The ${count(b.processed)} finished rows stay here and in the downloads.</p>
            <div class="actions">
              <button class="danger" @click=${this.cancel}>Yes, cancel the batch</button>
              <button class="secondary" @click=${() => (this.confirming = false)}>Keep it running</button>
            </div>
          </div>`
        : ''}
      <div class="actions">
        ${running && !this.confirming ? html`<button class="secondary" @click=${() => (this.confirming = true)}>Cancel batch</button>` : ''}
        <a href="/batches/${id}/results.csv" download @click=${(e: Event) => this.download(e, 'csv')}>Download CSV</a>
        <a href="/batches/${id}/results.jsonl" download @click=${(e: Event) => this.download(e, 'jsonl')}>Download JSON Lines</a>
      </div>
    `;
  }

  private pager(b: BatchFieldsFragment) {
    const rows = this.rows.rows;
    const running = !isFinalStatus(b.status);
    let shown: string;
    if (this.rows.page) shown = `Showing rows ${rows[0].index} to ${rows[rows.length - 1].index} in input order.`;
    else if (rows.length > 0) shown = `Showing the last ${rows.length} finished rows, newest first${running ? ', as they finish' : ''}.`;
    else shown = running ? 'No row has finished yet; they show here as they do.' : 'No row finished.';
    return html`
      <div class="pager">
        <p class="muted" data-testid="row-range">${shown}</p>
        ${this.rows.hasEarlier ? html`<button class="secondary" ?disabled=${this.busy} @click=${() => this.move(() => this.rows.earlier())}>Earlier rows</button>` : ''}
        ${this.rows.hasLater ? html`<button class="secondary" ?disabled=${this.busy} @click=${() => this.move(() => this.rows.later())}>Later rows</button>` : ''}
        ${this.rows.hasLater ? html`<button class="secondary" ?disabled=${this.busy} @click=${() => (this.rows.newest(), this.requestUpdate())}>Newest rows</button>` : ''}
      </div>
    `;
  }

  render() {
    if (this.missing) return this.missingBatch();
    const b = this.batch;
    const running = b !== null && !isFinalStatus(b.status);
    const percent = b && b.total > 0 ? Math.floor((100 * b.processed) / b.total) : 0;
    return html`
      <div class="title">
        <h2>Batch <code class="id" title=${this.batchId}>${this.batchId}</code></h2>
        <sift-copy .text=${this.batchId} label="Copy batch id"></sift-copy>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}${b ? '' : html` <button class="secondary" @click=${this.follow}>Try again</button>`}</p>` : ''}
      ${b
        ? html`
            <div class="summary">
              ${statusBadge(b.status, 'status')}
              <span>Model <strong data-testid="model">${b.model}</strong></span>
              <span>Priority <strong data-testid="priority">${b.priority.toLowerCase()}</strong></span>
              ${this.reconnecting ? html`<span class="reconnecting" role="status" data-testid="reconnecting">Connection lost; reconnecting…</span>` : ''}
              ${b.error ? html`<span class="error">${b.error}</span>` : ''}
            </div>
            <progress max=${b.total} value=${b.processed} aria-label="Rows done">${percent}%</progress>
            <div class="stats" aria-live="polite">
              <span data-testid="done">${count(b.processed)} / ${count(b.total)} rows (${percent}%)</span>
              ${running && b.processed > 0 ? html`<span>${b.rowsPerSecond ? `${count(Math.round(b.rowsPerSecond))} rows/s` : '– rows/s'}</span><span>ETA ${eta(b.etaSeconds)}</span>` : ''}
              <span>${count(b.cached)} cached</span>
              <span>${count(b.failed)} failed</span>
            </div>
            ${this.times(b)}
            ${this.actions(b)}
            ${b.processed > 0 ? html`<h3>Rows per label${running ? ' so far' : ''}</h3>${labelChart(b.labelCounts, b.failed)}` : ''}
            <h3>Finished rows</h3>
            ${this.pager(b)}
            ${batchRows(this.rows.rows)}
          `
        : this.error
          ? ''
          : html`<p class="muted">Loading…</p>`}
    `;
  }
}
customElements.define('sift-batch-live', BatchLiveView);
