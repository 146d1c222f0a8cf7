import { css, html, LitElement } from 'lit';
import './batch-live-view';
import './batch-upload-view';
import './batches-view';
import './models-view';
import './predict-view';
import { shared } from './styles';

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
 * same view.
 */
export class SiftApp extends LitElement {
  static properties = { view: { state: true }, batchId: { state: true } };
  static styles = [
    shared,
    css`
      header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.5rem 1.5rem; padding: 0.75rem 1rem; border-bottom: 1px solid #d0d7de; }
      header h1 { font-size: 1.25rem; margin: 0; }
      nav a { margin-right: 1rem; color: #0969da; text-decoration: none; padding: 0.25rem 0; }
      nav a[aria-current='page'] { font-weight: 700; border-bottom: 2px solid #0969da; }
      main { max-width: 52rem; margin: 0 auto; padding: 1rem; }
    `,
  ];

  view: ViewPath = 'predict';
  batchId = '';

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
    this.onHash();
  }

  disconnectedCallback(): void {
    window.removeEventListener('hashchange', this.onHash);
    super.disconnectedCallback();
  }

  render() {
    return html`
      <header>
        <h1>Sift</h1>
        <nav aria-label="Views">
          ${VIEWS.map((v) => html`<a href="#/${v.path}" aria-current=${v.path === this.view && !this.batchId ? 'page' : 'false'}>${v.title}</a>`)}
        </nav>
      </header>
      <main>${this.page()}</main>
    `;
  }
}
customElements.define('sift-app', SiftApp);
