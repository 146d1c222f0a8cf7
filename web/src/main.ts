import { css, html, LitElement } from 'lit';
import { keyed } from 'lit/directives/keyed.js';
import { apiKey } from './api-key';
import './batch-live-view';
import './batch-upload-view';
import './batches-view';
import './key-prompt';
import './models-view';
import './predict-view';
import { shared, theme } from './styles';

const VIEWS = [
  { path: 'predict', title: 'Predict' },
  { path: 'batch', title: 'Run a batch' },
  { path: 'batches', title: 'Batches' },
  { path: 'models', title: 'Models' },
] as const;

type ViewPath = (typeof VIEWS)[number]['path'];

/**
 * The page: a header with the views, and the view the URL's hash names (#/predict, #/batch,
 * #/batch/ID for one batch live, #/batches, #/models), so a reload or a shared link opens the
 * same view. When the server needs an API key the page holds none of (or refuses the one it
 * holds), the key form takes the view's place; with a key, the header offers to forget it. Each
 * change of key makes the view again, so it reads everything again with the new key.
 */
export class SiftApp extends LitElement {
  static properties = { view: { state: true }, batchId: { state: true } };
  static styles = [
    theme,
    shared,
    css`
      :host { min-height: 100vh; background: var(--bg); }
      header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.25rem 1.5rem; padding: 0.75rem 1rem; border-bottom: 1px solid var(--border); background: var(--surface); }
      header h1 { font-size: 1.25rem; margin: 0; }
      nav { display: flex; flex-wrap: wrap; gap: 0 1rem; }
      /* A label never splits over two lines ("Run a / batch"); the links wrap as wholes. */
      nav a { color: var(--accent); text-decoration: none; padding: 0.25rem 0; white-space: nowrap; border-bottom: 2px solid transparent; }
      nav a[aria-current='page'] { font-weight: 700; border-bottom-color: var(--accent); }
      main { max-width: 64rem; margin: 0 auto; padding: 1rem; box-sizing: border-box; }
      .forget { margin: 0 0 0 auto; padding: 0.25rem 0.75rem; font-size: 0.9rem; }
    `,
  ];

  view: ViewPath = 'predict';
  batchId = '';

  private readonly onKey = () => this.requestUpdate();

  private readonly onHash = () => {
    const [path, id] = location.hash.replace(/^#\/?/, '').split('/');
    this.view = (VIEWS.find((v) => v.path === path)?.path ?? 'predict') as ViewPath;
    this.batchId = this.view === 'batch' && id ? decodeURIComponent(id) : '';
  };

  private page() {
    switch (this.view) {
      case 'batch':
        return this.batchId ? html`<sift-batch-live batch-id=${this.batchId}></sift-batch-live>` : html`<sift-batch-upload></sift-batch-upload>`;
      case 'batches':
        return html`<sift-batches></sift-batches>`;
      case 'models':
        return html`<sift-models></sift-models>`;
      default:
        return html`<sift-predict></sift-predict>`;
    }
  }

  connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHash);
    apiKey.addEventListener('change', this.onKey);
    this.onHash();
  }

  disconnectedCallback(): void {
    window.removeEventListener('hashchange', this.onHash);
    apiKey.removeEventListener('change', this.onKey);
    super.disconnectedCallback();
  }

  render() {
    return html`
      <header>
        <h1>Sift</h1>
        <nav aria-label="Views">
          ${VIEWS.map((v) => html`<a href="#/${v.path}" aria-current=${v.path === this.view && !this.batchId ? 'page' : 'false'}>${v.title}</a>`)}
        </nav>
        ${apiKey.key !== null ? html`<button class="secondary forget" title="This tab stops sending the API key" @click=${() => apiKey.forget()}>Forget key</button>` : ''}
      </header>
      <main>${apiKey.prompt ? html`<sift-key-prompt .prompt=${apiKey.prompt}></sift-key-prompt>` : keyed(apiKey.generation, this.page())}</main>
    `;
  }
}
customElements.define('sift-app', SiftApp);
