import { css, html, LitElement } from 'lit';
import { BATCH_STATUSES, isFinalStatus } from '../../src/batches/batch-status';
import { BatchesDocument, type BatchesQuery, type BatchStatus } from '../../src/client/generated/graphql';
import { request } from './api';
import { count, duration, elapsed, timeElement } from './format';
import { inWords } from './messages';
import { statusBadge } from './status-badge';
import { shared } from './styles';

type Batch = BatchesQuery['batches']['edges'][number]['node'];

/** How often the list reads itself again while it is on screen. */
export const REFRESH_MS = 3000;

/**
 * Recent batches, most recent first, with their status, model, progress, submission time and
 * duration (so far, while one runs); a
 * status filter and cursor paging; each links to its own view. The list refreshes by itself while
 * the page is visible, so a running batch moves on and a new one appears.
 */
export class BatchesView extends LitElement {
  static properties = { batches: { state: true }, status: { state: true }, cursors: { state: true }, next: { state: true }, error: { state: true }, loaded: { state: true } };
  static styles = [
    shared,
    css`
      .filter { display: flex; flex-wrap: wrap; align-items: end; gap: 0.5rem 1rem; margin-bottom: 0.75rem; }
      .filter div { flex: 0 1 14rem; }
      .filter p { margin: 0 0 0.5rem; }
      table.batches { table-layout: fixed; }
      table.batches th.batch { width: 12.5rem; }
      table.batches th.status { width: 7.5rem; }
      /* Room for "1,000,000 / 1,000,000"; a failed count goes to a second line rather than be cut. */
      table.batches th.rows { width: 11.5rem; }
      table.batches th.started { width: 9.5rem; }
      table.batches th.took { width: 6.5rem; }
      table.batches th.started, table.batches td.started { padding-left: 1.5rem; }
      table.batches td { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: middle; }
      table.batches td.batch a { display: block; overflow: hidden; text-overflow: ellipsis; }
      table.batches td.rows { white-space: normal; }
      table.batches td.rows .failed { white-space: nowrap; }
      .failed { color: var(--error-fg); }
      /* On a phone each batch is a card whose cells flow in lines: the id (whole when it fits) and
         the status, then the model and the rows, then the start and the duration. */
      @media (max-width: 40rem) {
        table.batches tr { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; }
        table.batches td.batch { flex: 1 1 11rem; }
        table.batches td.status { flex: 0 0 auto; }
        table.batches td.model { flex: 1 1 9rem; }
        table.batches td.rows { flex: 0 0 auto; text-align: right; }
        table.batches td.started { flex: 1 1 9rem; color: var(--muted); padding-left: 0; }
        table.batches td.took { flex: 0 0 auto; color: var(--muted); text-align: right; }
        table.batches td.model::before { content: 'Model '; color: var(--muted); }
        table.batches td.started::before { content: 'Submitted '; }
        table.batches td.took::before { content: 'Took '; }
        table.batches td.took.running::before { content: 'Running for '; }
        table.batches td.took.queued::before { content: 'Queued for '; }
      }
      .pages button { margin-right: 0.5rem; }
    `,
  ];

  batches: Batch[] = [];
  status: BatchStatus | '' = '';
  /** The `after` cursor of every page shown so far (null for the first). */
  cursors: (string | null)[] = [null];
  next: string | null = null;
  error = '';
  loaded = false;
  private timer?: ReturnType<typeof setInterval>;
  private loading = 0;

  connectedCallback(): void {
    super.connectedCallback();
    void this.load();
    this.timer = setInterval(() => {
      if (document.visibilityState === 'visible') void this.load();
    }, REFRESH_MS);
  }

  disconnectedCallback(): void {
    clearInterval(this.timer);
    super.disconnectedCallback();
  }

  private async load(): Promise<void> {
    // The newest load wins: an answer to an older one (another filter, another page) is dropped.
    const mine = ++this.loading;
    try {
      const after = this.cursors[this.cursors.length - 1];
      const { batches } = await request(BatchesDocument, { first: 20, after, status: this.status || null });
      if (mine !== this.loading) return;
      this.batches = batches.edges.map((e) => e.node);
      this.next = batches.pageInfo.hasNextPage ? (batches.pageInfo.endCursor ?? null) : null;
      this.error = '';
    } catch (error) {
      if (mine === this.loading) this.error = inWords(error);
    }
    this.loaded = true;
  }

  private filter(status: BatchStatus | ''): void {
    this.status = status;
    this.cursors = [null];
    this.loaded = false;
    void this.load();
  }

  private page(direction: 1 | -1): void {
    this.cursors = direction === 1 ? [...this.cursors, this.next] : this.cursors.slice(0, -1);
    void this.load();
  }

  private row(b: Batch) {
    const ran = elapsed(b);
    const running = !isFinalStatus(b.status);
    return html`<tr role="row">
      <td role="cell" class="batch"><a class="mono" href="#/batch/${encodeURIComponent(b.id)}" title=${b.id}>${b.id}</a></td>
      <td role="cell" class="status">${statusBadge(b.status)}</td>
      <td role="cell" class="model" title=${b.model}>${b.model}</td>
      <td role="cell" class="rows num">${count(b.processed)} / ${count(b.total)}${b.failed > 0 ? html` <span class="failed">(${count(b.failed)} failed)</span>` : ''}</td>
      <td role="cell" class="started">${timeElement(b.createdAt)}</td>
      <td role="cell" class="took num ${running ? b.status.toLowerCase() : ''}">${duration(ran)}</td>
    </tr>`;
  }

  private empty() {
    if (!this.loaded || this.error || this.batches.length > 0) return '';
    if (this.status) {
      return html`<p class="muted" data-testid="empty">No batches match the status “${this.status.toLowerCase()}”. <button class="secondary" @click=${() => this.filter('')}>Show all batches</button></p>`;
    }
    return html`<p class="muted" data-testid="empty">No batches yet. <a href="#/batch">Run a batch</a> to label a file of texts.</p>`;
  }

  render() {
    return html`
      <h2>Batches</h2>
      <div class="filter">
        <div>
          <label for="status">Status</label>
          <select id="status" .value=${this.status} @change=${(e: Event) => this.filter((e.target as HTMLSelectElement).value as BatchStatus | '')}>
            <option value="" ?selected=${this.status === ''}>all</option>
            ${BATCH_STATUSES.map((s) => html`<option value=${s} ?selected=${this.status === s}>${s.toLowerCase()}</option>`)}
          </select>
        </div>
        <p class="muted">Updates by itself every few seconds.</p>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      ${this.batches.length > 0
        ? html`<table class="batches cards" role="table">
            <thead>
              <tr role="row">
                <th scope="col" role="columnheader" class="batch">Batch</th>
                <th scope="col" role="columnheader" class="status">Status</th>
                <th scope="col" role="columnheader" class="model">Model</th>
                <th scope="col" role="columnheader" class="rows num">Rows done</th>
                <th scope="col" role="columnheader" class="started">Submitted</th>
                <th scope="col" role="columnheader" class="took num">Duration</th>
              </tr>
            </thead>
            <tbody data-testid="batches">
              ${this.batches.map((b) => this.row(b))}
            </tbody>
          </table>`
        : ''}
      ${this.empty()}
      <div class="pages">
        ${this.cursors.length > 1 ? html`<button class="secondary" @click=${() => this.page(-1)}>Newer</button>` : ''}
        ${this.next ? html`<button class="secondary" @click=${() => this.page(1)}>Older</button>` : ''}
      </div>
    `;
  }
}
customElements.define('sift-batches', BatchesView);
