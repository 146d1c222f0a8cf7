import { html, LitElement } from 'lit';
import { ModelsDocument, type ModelsQuery } from '../../src/client/generated/graphql';
import { request } from './api';
import { shared } from './styles';

/** Models: name, version, labels and longest text of each served model. */
export class ModelsView extends LitElement {
  static properties = { models: { state: true }, error: { state: true } };
  static styles = shared;

  models: ModelsQuery['models'] = [];
  error = '';

  async connectedCallback(): Promise<void> {
    super.connectedCallback();
    try {
      this.models = (await request(ModelsDocument, {})).models;
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  render() {
    return html`
      <h2>Models</h2>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      <div class="scroll"><table>
        <thead><tr><th scope="col">Name</th><th scope="col">Version</th><th scope="col">Labels</th><th scope="col">Max text</th></tr></thead>
        <tbody>
          ${this.models.map(
            (m) => html`<tr><td>${m.name}${m.isDefault ? html`<span class="badge">default</span>` : ''}</td><td><code>${m.version}</code></td><td>${m.labels.join(', ')}</td><td>${m.maxTextLength.toLocaleString()} characters</td></tr>`,
          )}
        </tbody>
      </table></div>
    `;
  }
}
customElements.define('sift-models', ModelsView);
