import { html, LitElement } from 'lit';
import { ApiError } from './api';
import { shared } from './styles';
import { readColumns, uploadFile, type FileColumns } from './upload';

/** Run a batch: choose a CSV or JSON Lines file, pick the text (and id) column from its header, upload it. */
export class BatchUploadView extends LitElement {
  static properties = { file: { state: true }, columns: { state: true }, textColumn: { state: true }, idColumn: { state: true }, error: { state: true }, busy: { state: true } };
  static styles = shared;

  file: File | null = null;
  columns: FileColumns | null = null;
  textColumn = '';
  idColumn = '';
  error = '';
  busy = false;

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
      this.idColumn = '';
    } catch (error) {
      this.error = (error as Error).message;
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
      const id = await uploadFile(this.file, this.columns.format, { textColumn: this.textColumn, idColumn: this.idColumn || undefined });
      location.hash = `#/batch/${id}`;
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : String(error);
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
                <option value="">none</option>
                ${columns.map((c) => html`<option value=${c}>${c}</option>`)}
              </select>
              <button type="submit" ?disabled=${this.busy}>${this.busy ? 'Uploading…' : 'Upload and run'}</button>
            `
          : ''}
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
    `;
  }
}
customElements.define('sift-batch-upload', BatchUploadView);
