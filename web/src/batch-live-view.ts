import { css, html, LitElement, type PropertyValues } from 'lit';
import { BatchDocument, BatchProgressDocument, BatchResultsDocument, CancelBatchDocument, type BatchProgressSubscription, type BatchQuery } from '../../src/client/generated/graphql';
import { isFinalStatus } from '../../src/batches/batch-status';
import { request, subscribe } from './api';
import { shared } from './styles';

type Snapshot = BatchProgressSubscription['batchProgress']['batch'];
type Row = BatchProgressSubscription['batchProgress']['rows'][number];

/** Rows the table keeps; older ones are read by paging Batch.results. */
const TABLE_ROWS = 300;
const PAGE = 1000;

const count = (n: number) => n.toLocaleString();

function eta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '–';
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/**
 * One batch, live: progress from the batchProgress subscription, the newest finished rows, cancel,
 * downloads, and once it ends a chart of rows per label. Opening the link later shows the same
 * batch (the subscription's first event is its current state).
 */
export class BatchLiveView extends LitElement {
  static properties = {
    batchId: { attribute: 'batch-id' },
    batch: { state: true },
    rows: { state: true },
    labels: { state: true },
    error: { state: true },
    model: { state: true },
    page: { state: true },
  };
  static styles = [
    shared,
    css`
      progress { width: 100%; height: 1.25rem; }
      .stats { display: flex; flex-wrap: wrap; gap: 0.25rem 1.25rem; margin: 0.5rem 0; }
      .actions { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
      .actions a { display: inline-block; margin-top: 0.75rem; padding: 0.5rem 1rem; border: 1px solid #1f6feb; border-radius: 6px; color: #1f6feb; text-decoration: none; }
      .chart div { display: grid; grid-template-columns: minmax(5rem, 9rem) 1fr 5rem; gap: 0.5rem; align-items: center; }
      .chart .fill { background: #1f6feb; height: 0.9rem; border-radius: 4px; }
      td.text { overflow-wrap: anywhere; }
    `,
  ];

  batchId = '';
  batch: Snapshot | null = null;
  model = '';
  rows: Row[] = [];
  labels: Map<string, number> | null = null;
  error = '';
  /** Earlier rows the user paged to (Batch.results from `offset`), or null for the live newest rows. */
  page: { offset: number; rows: Row[] } | null = null;
  private stop?: () => void;

  protected willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('batchId')) this.follow();
  }

  disconnectedCallback(): void {
    this.stop?.();
    super.disconnectedCallback();
  }

  private follow(): void {
    this.stop?.();
    this.batch = null;
    this.rows = [];
    this.labels = null;
    this.page = null;
    this.error = '';
    const id = this.batchId;
    void request(BatchDocument, { id }).then((answer: BatchQuery) => {
      if (!answer.batch) this.error = `No batch has the id ${id} (or it expired).`;
      else this.model = answer.batch.model;
    });
    let first = true;
    this.stop = subscribe(BatchProgressDocument, { id }, {
      next: ({ batchProgress }) => {
        this.batch = batchProgress.batch;
        // The first event is a snapshot without rows: rows finished before it are read from the results.
        if (first && batchProgress.batch.processed > 0) void this.loadFinishedRows(id, batchProgress.batch.total);
        first = false;
        this.addRows(batchProgress.rows);
        if (isFinalStatus(batchProgress.batch.status)) void this.countLabels(id);
      },
      error: (error) => (this.error = error.message),
      complete: () => undefined,
    });
  }

  /** Newest first, each row once (an event and the results read may both bring it), at most TABLE_ROWS. */
  private addRows(rows: readonly Row[]): void {
    if (rows.length === 0) return;
    const seen = new Set(this.rows.map((r) => r.index));
    const fresh = rows.filter((r) => !seen.has(r.index));
    this.rows = [...this.rows, ...fresh].sort((a, b) => b.index - a.index).slice(0, TABLE_ROWS);
  }

  private async loadFinishedRows(id: string, total: number): Promise<void> {
    const offset = Math.max(0, total - TABLE_ROWS);
    const rows = (await request(BatchResultsDocument, { id, offset, limit: TABLE_ROWS })).batch?.results ?? [];
    if (id === this.batchId) this.addRows(rows);
  }

  // Once the batch ends: how many rows got each label, over every row (paged, not only the ones shown).
  private async countLabels(id: string): Promise<void> {
    const counts = new Map<string, number>();
    for (let offset = 0; ; offset += PAGE) {
      const page = (await request(BatchResultsDocument, { id, offset, limit: PAGE })).batch?.results ?? [];
      for (const row of page) {
        const label = row.prediction?.label ?? 'failed';
        counts.set(label, (counts.get(label) ?? 0) + 1);
      }
      if (page.length < PAGE || id !== this.batchId) break;
    }
    if (id === this.batchId) this.labels = counts;
  }

  /** Shows the TABLE_ROWS rows from `offset` in input order, or the live newest rows again (null). */
  private async showPage(offset: number | null): Promise<void> {
    if (offset === null) {
      this.page = null;
      return;
    }
    const start = Math.max(0, offset);
    const rows = (await request(BatchResultsDocument, { id: this.batchId, offset: start, limit: TABLE_ROWS })).batch?.results ?? [];
    this.page = { offset: start, rows };
  }

  private async cancel(): Promise<void> {
    try {
      await request(CancelBatchDocument, { id: this.batchId });
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  private pager(total: number) {
    const newest = Math.max(0, total - TABLE_ROWS);
    const offset = this.page?.offset ?? newest;
    const shown = this.page ? `rows ${offset} to ${offset + Math.max(0, this.page.rows.length - 1)} in input order` : `the last ${TABLE_ROWS} finished rows, newest first, as they finish`;
    return html`
      <p class="muted" data-testid="row-range">Showing ${shown}.</p>
      <div class="actions">
        ${offset > 0 ? html`<button class="secondary" @click=${() => this.showPage(offset - TABLE_ROWS)}>Earlier rows</button>` : ''}
        ${this.page ? html`<button class="secondary" @click=${() => (this.page && this.page.offset + TABLE_ROWS < newest ? this.showPage(this.page.offset + TABLE_ROWS) : this.showPage(null))}>Later rows</button>` : ''}
      </div>
    `;
  }

  render() {
    const b = this.batch;
    const running = b !== null && !isFinalStatus(b.status);
    const percent = b && b.total > 0 ? Math.floor((100 * b.processed) / b.total) : 0;
    const most = this.labels ? Math.max(1, ...this.labels.values()) : 1;
    return html`
      <h2>Batch <code>${this.batchId}</code>${this.model ? html` <span class="muted">(${this.model})</span>` : ''}</h2>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      ${b
        ? html`
            <p><strong data-testid="status">${b.status}</strong>${b.error ? html` – <span class="error">${b.error}</span>` : ''}</p>
            <progress max=${b.total} value=${b.processed} aria-label="Rows done">${percent}%</progress>
            <div class="stats" aria-live="polite">
              <span data-testid="done">${count(b.processed)} / ${count(b.total)} rows (${percent}%)</span>
              <span>${b.rowsPerSecond ? `${count(Math.round(b.rowsPerSecond))} rows/s` : '– rows/s'}</span>
              <span>ETA ${running ? eta(b.etaSeconds) : '–'}</span>
              <span>${count(b.cached)} cached</span>
              <span>${count(b.failed)} failed</span>
            </div>
            <div class="actions">
              ${running ? html`<button class="secondary" @click=${this.cancel}>Cancel batch</button>` : ''}
              <a href="/batches/${encodeURIComponent(this.batchId)}/results.csv" download>Download CSV</a>
              <a href="/batches/${encodeURIComponent(this.batchId)}/results.jsonl" download>Download JSON Lines</a>
            </div>
          `
        : html`<p class="muted">Connecting…</p>`}
      ${this.labels
        ? html`<h3>Rows per label</h3>
            <div class="chart" data-testid="label-chart">
              ${[...this.labels].map(([label, n]) => html`<div role="img" aria-label="${label}: ${n} rows"><span>${label}</span><span class="fill" style="width:${(100 * n) / most}%"></span><span>${count(n)}</span></div>`)}
            </div>`
        : ''}
      <h3>Finished rows</h3>
      ${this.pager(b?.total ?? 0)}
      <div class="scroll"><table>
        <thead><tr><th scope="col">#</th><th scope="col">Id</th><th scope="col">Text</th><th scope="col">Label</th><th scope="col">Score</th><th scope="col">Error</th></tr></thead>
        <tbody data-testid="rows">
          ${(this.page?.rows ?? this.rows).map(
            (r) => html`<tr><td>${r.index}</td><td>${r.id ?? ''}</td><td class="text">${r.text}</td><td>${r.prediction?.label ?? ''}</td><td>${r.prediction ? r.prediction.score.toFixed(3) : ''}</td><td>${r.error ?? ''}</td></tr>`,
          )}
        </tbody>
      </table></div>
    `;
  }
}
customElements.define('sift-batch-live', BatchLiveView);
