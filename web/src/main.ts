import { css, html, LitElement } from 'lit';
import './models-view';
import './predict-view';
import { shared } from './styles';

const VIEWS = [
  { path: 'predict', title: 'Predict' },
  { path: 'models', title: 'Models' },
] as const;

type ViewPath = (typeof VIEWS)[number]['path'];

/**
 * The page: a header with the views, and the view the URL's hash names (#/predict, #/models), so
 * a reload or a shared link opens the same view.
 */
export class SiftApp extends LitElement {
  static properties = { view: { state: true } };
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

  private readonly onHash = () => {
    const path = location.hash.replace(/^#\/?/, '').split('/')[0];
    this.view = (VIEWS.find((v) => v.path === path)?.path ?? 'predict') as ViewPath;
  };

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
          ${VIEWS.map((v) => html`<a href="#/${v.path}" aria-current=${v.path === this.view ? 'page' : 'false'}>${v.title}</a>`)}
        </nav>
      </header>
      <main>${this.view === 'models' ? html`<sift-models></sift-models>` : html`<sift-predict></sift-predict>`}</main>
    `;
  }
}
customElements.define('sift-app', SiftApp);
