import { css, html, LitElement } from 'lit';
import { ModelsDocument, type ModelsQuery } from '../../src/client/generated/graphql';
import { request } from './api';
import { inWords } from './messages';
import { shared } from './styles';

/** Models: name, labels, longest text and version of each served model (cards on a phone). */
export class ModelsView extends LitElement {
  static properties = { models: { state: true }, error: { state: true } };
  static styles = [
    shared,
    css`
      table.models td.version .id { max-width: 12rem; }
      @media (max-width: 40rem) {
        table.models tr { grid-template-columns: minmax(0, 1fr) auto; grid-template-areas: 'name name' 'labels labels' 'max version'; }
        table.models td.name { grid-area: name; font-weight: 600; }
        table.models td.labels { grid-area: labels; }
        table.models td.max { grid-area: max; color: var(--muted); }
        table.models td.version { grid-area: version; color: var(--muted); }
        table.models td.max::before { content: 'Up to '; }
        table.models td.version .id { max-width: 8rem; }
      }
    `,
  ];

  models: ModelsQuery['models'] = [];
  error = '';

  async connectedCallback(): Promise<void> {
    super.connectedCallback();
    try {
      this.models = (await request(ModelsDocument, {})).models;
    } catch (error) {
      this.error = inWords(error);
    }
  }

  render() {
    return html`
      <h2>Models</h2>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      <table class="models cards" role="table">
        <thead><tr role="row"><th scope="col" role="columnheader">Name</th><th scope="col" role="columnheader">Labels</th><th scope="col" role="columnheader">Longest text</th><th scope="col" role="columnheader">Version</th></tr></thead>
        <tbody>
          ${this.models.map(
            (m) => html`<tr role="row">
              <td role="cell" class="name">${m.name}${m.isDefault ? html`<span class="badge">default</span>` : ''}</td>
              <td role="cell" class="labels">${m.labels.join(', ')}</td>
              <td role="cell" class="max">${m.maxTextLength.toLocaleString()} characters</td>
              <td role="cell" class="version"><code class="id" title=${m.version}>${m.version}</code></td>
            </tr>`,
          )}
        </tbody>
      </table>
    `;
  }
}
customElements.define('sift-models', ModelsView);
