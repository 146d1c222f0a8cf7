import { css, html, LitElement } from 'lit';
import { BATCH_PRIORITIES, DEFAULT_PRIORITY, type BatchPriority } from '../../src/batches/batch-priority';
import { ModelsDocument, type ModelsQuery } from '../../src/client/generated/graphql';
import { request } from './api';
import { inWords } from './messages';
import { shared } from './styles';
import { readColumns, uploadFile, type FileColumns } from './upload';

type Model = ModelsQuery['models'][number];

/**
 * Run a batch: choose a CSV or JSON Lines file, pick the text (and id) column from its header and
 * the model (the server's default preselected) and the priority (NORMAL preselected), upload it.
 */
export class BatchUploadView extends LitElement {
  static properties = {
    file: { state: true },
    columns: { state: true },
    textColumn: { state: true },
    idColumn: { state: true },
    models: { state: true },
    model: { state: true },
    priority: { state: true },
    error: { state: true },
    busy: { state: true },
  };
  static styles = [shared, css`form { max-width: 44rem; }`];

  file: File | null = null;
  columns: FileColumns | null = null;
  textColumn = '';
  idColumn = '';
  models: Model[] = [];
  model = '';
  priority: BatchPriority = DEFAULT_PRIORITY;
  error = '';
  busy = false;

  async connectedCallback(): Promise<void> {
    super.connectedCallback();
    try {
      this.models = (await request(ModelsDocument, {})).models;
      this.model = this.models.find((m) => m.isDefault)?.name ?? this.models[0]?.name ?? '';
    } catch (error) {
      this.error = inWords(error);
    }
  }

  private async choose(event: Event): Promise<void> {
    await this.take((event.target as HTMLInputElement).files?.[0] ?? null);
  }

  // A file dropped anywhere on the form counts as chosen.
  private async drop(event: DragEvent): Promise<void> {
    event.preventDefault();
    await this.take(event.dataTransfer?.files[0] ?? null);
  }

  private async take(file: File | null): Promise<void> {
    this.file = file;
    this.columns = null;
    this.error = '';
    if (!file) return;
    try {
      this.columns = await readColumns(file);
      this.textColumn = this.columns.columns.includes('text') ? 'text' : this.columns.columns[0];
      this.idColumn = this.columns.columns.includes('id') ? 'id' : '';
    } catch (error) {
      this.error = inWords(error);
    }
  }

  private async upload(event: Event): Promise<void> {
    event.preventDefault();
    if (!this.file || !this.columns) {
      this.error = 'Choose a CSV or JSON Lines file first.';
      return;
    }
    this.busy = true;
    this.error = '';
    try {
      const id = await uploadFile(this.file, this.columns.format, { textColumn: this.textColumn, idColumn: this.idColumn || undefined, model: this.model || undefined, priority: this.priority });
      location.hash = `#/batch/${encodeURIComponent(id)}`;
    } catch (error) {
      this.error = inWords(error);
    } finally {
      this.busy = false;
    }
  }

  render() {
    const columns = this.columns?.columns ?? [];
    return html`
      <h2>Run a batch</h2>
      <form @submit=${this.upload} @dragover=${(e: DragEvent) => e.preventDefault()} @drop=${this.drop}>
        <label for="file">CSV or JSON Lines file</label>
        <p class="muted">Choose a file, or drop one here. The first row of a CSV names its columns.</p>
        <input id="file" type="file" accept=".csv,.jsonl,.ndjson,text/csv,application/x-ndjson" @change=${this.choose} />
        ${this.columns
          ? html`
              <label for="text-column">Text column</label>
              <select id="text-column" .value=${this.textColumn} @change=${(e: Event) => (this.textColumn = (e.target as HTMLSelectElement).value)}>
                ${columns.map((c) => html`<option value=${c} ?selected=${c === this.textColumn}>${c}</option>`)}
              </select>
              <label for="id-column">Id column (optional)</label>
              <select id="id-column" .value=${this.idColumn} @change=${(e: Event) => (this.idColumn = (e.target as HTMLSelectElement).value)}>
                <option value="" ?selected=${this.idColumn === ''}>none</option>
                ${columns.map((c) => html`<option value=${c} ?selected=${c === this.idColumn}>${c}</option>`)}
              </select>
            `
          : ''}
        <label for="batch-model">Model</label>
        <select id="batch-model" .value=${this.model} @change=${(e: Event) => (this.model = (e.target as HTMLSelectElement).value)}>
          ${this.models.map((m) => html`<option value=${m.name} ?selected=${m.name === this.model}>${m.name}${m.isDefault ? ' (default)' : ''} – ${m.labels.join(', ')}</option>`)}
        </select>
        <label for="batch-priority">Priority</label>
        <p class="muted">High runs before normal, low after (low still gets a tenth of the workers). Batches of one priority take turns.</p>
        <select id="batch-priority" .value=${this.priority} @change=${(e: Event) => (this.priority = (e.target as HTMLSelectElement).value as BatchPriority)}>
          ${BATCH_PRIORITIES.map((p) => html`<option value=${p} ?selected=${p === this.priority}>${p.toLowerCase()}</option>`)}
        </select>
        ${this.columns ? html`<button type="submit" ?disabled=${this.busy}>${this.busy ? 'Uploading…' : 'Upload and run'}</button>` : ''}
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
    `;
  }
}
customElements.define('sift-batch-upload', BatchUploadView);
