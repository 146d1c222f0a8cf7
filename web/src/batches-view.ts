import { html, LitElement } from 'lit';
import { BATCH_STATUSES } from '../../src/batches/batch-status';
import { BatchesDocument, type BatchesQuery, type BatchStatus } from '../../src/client/generated/graphql';
import { request } from './api';
import { shared } from './styles';

type Edge = BatchesQuery['batches']['edges'][number];

function age(iso: string): string {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.round(seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

/** Recent batches, most recent first, a status filter and cursor paging; each links to its live view. */
export class BatchesView extends LitElement {
  static properties = { edges: { state: true }, status: { state: true }, cursors: { state: true }, next: { state: true }, error: { state: true } };
  static styles = shared;

  edges: Edge[] = [];
  status: BatchStatus | '' = '';
  /** The `after` cursor of every page shown so far (null for the first). */
  cursors: (string | null)[] = [null];
  next: string | null = null;
  error = '';

  connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load(): Promise<void> {
    try {
      const after = this.cursors[this.cursors.length - 1];
      const { batches } = await request(BatchesDocument, { first: 20, after, status: this.status || null });
      this.edges = batches.edges;
      this.next = batches.pageInfo.hasNextPage ? batches.pageInfo.endCursor ?? null : null;
      this.error = '';
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  private filter(event: Event): void {
    this.status = (event.target as HTMLSelectElement).value as BatchStatus | '';
    this.cursors = [null];
    void this.load();
  }

  private page(direction: 1 | -1): void {
    this.cursors = direction === 1 ? [...this.cursors, this.next] : this.cursors.slice(0, -1);
    void this.load();
  }

  render() {
    return html`
      <h2>Batches</h2>
      <label for="status">Status</label>
      <select id="status" @change=${this.filter}>
        <option value="">all</option>
        ${BATCH_STATUSES.map((s) => html`<option value=${s}>${s.toLowerCase()}</option>`)}
      </select>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      <div class="scroll"><table>
        <thead><tr><th scope="col">Batch</th><th scope="col">Status</th><th scope="col">Done</th><th scope="col">Failed</th><th scope="col">Created</th></tr></thead>
        <tbody>
          ${this.edges.map(
            ({ node: b }) => html`<tr><td><a href="#/batch/${b.id}"><code>${b.id}</code></a></td><td>${b.status}</td><td>${b.processed.toLocaleString()} / ${b.total.toLocaleString()}</td><td>${b.failed.toLocaleString()}</td><td>${age(b.createdAt)}</td></tr>`,
          )}
        </tbody>
      </table></div>
      ${this.edges.length === 0 && !this.error ? html`<p class="muted">No batches yet.</p>` : ''}
      <div>
        ${this.cursors.length > 1 ? html`<button class="secondary" @click=${() => this.page(-1)}>Newer</button>` : ''}
        ${this.next ? html`<button class="secondary" @click=${() => this.page(1)}>Older</button>` : ''}
      </div>
    `;
  }
}
customElements.define('sift-batches', BatchesView);
