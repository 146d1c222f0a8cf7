import { html, LitElement, css } from 'lit';
import { ModelsDocument, PredictManyDocument, type ModelsQuery, type PredictManyQuery } from '../../src/client/generated/graphql';
import { ApiError, request } from './api';
import { shared } from './styles';

type Model = ModelsQuery['models'][number];
type Prediction = PredictManyQuery['predictMany'][number];

/** Predict: texts (one a line) through predictMany, each with a bar per label and whether the cache answered. */
export class PredictView extends LitElement {
  static properties = { models: { state: true }, model: { state: true }, predictions: { state: true }, error: { state: true }, busy: { state: true } };
  static styles = [
    shared,
    css`
      .result { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.5rem 0.75rem; margin-top: 0.75rem; }
      .text { font-style: italic; overflow-wrap: anywhere; }
      .bar { display: grid; grid-template-columns: minmax(5rem, 9rem) 1fr 4rem; gap: 0.5rem; align-items: center; }
      .track { background: #eaeef2; border-radius: 4px; height: 0.8rem; }
      .fill { background: #1f6feb; border-radius: 4px; height: 100%; }
    `,
  ];

  models: Model[] = [];
  model = '';
  predictions: Prediction[] = [];
  error = '';
  busy = false;

  async connectedCallback(): Promise<void> {
    super.connectedCallback();
    try {
      this.models = (await request(ModelsDocument, {})).models;
      this.model = this.models.find((m) => m.isDefault)?.name ?? this.models[0]?.name ?? '';
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  private async predict(event: Event): Promise<void> {
    event.preventDefault();
    const texts = (this.renderRoot.querySelector('#texts') as HTMLTextAreaElement).value.split('\n').filter((line) => line.trim() !== '');
    if (texts.length === 0) {
      this.error = 'Type a text to label (one a line for several).';
      return;
    }
    this.busy = true;
    this.error = '';
    try {
      this.predictions = (await request(PredictManyDocument, { texts, model: this.model || null })).predictMany;
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : String(error);
      this.predictions = [];
    } finally {
      this.busy = false;
    }
  }

  render() {
    return html`
      <h2>Label text</h2>
      <form @submit=${this.predict}>
        <label for="texts">Texts, one a line</label>
        <textarea id="texts" name="texts" placeholder="A gorgeous, witty and deeply moving film."></textarea>
        <label for="model">Model</label>
        <select id="model" name="model" .value=${this.model} @change=${(e: Event) => (this.model = (e.target as HTMLSelectElement).value)}>
          ${this.models.map((m) => html`<option value=${m.name} ?selected=${m.name === this.model}>${m.name}${m.isDefault ? ' (default)' : ''}</option>`)}
        </select>
        <button type="submit" ?disabled=${this.busy}>${this.busy ? 'Labelling…' : 'Label'}</button>
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      <div aria-live="polite">
        ${this.predictions.map(
          (p) => html`
            <section class="result" data-testid="prediction">
              <p class="text">${p.text}</p>
              <p><strong data-testid="label">${p.label}</strong> ${(p.score * 100).toFixed(1)}%${p.cached ? html`<span class="badge" data-testid="cached">from cache</span>` : ''}</p>
              ${p.scores.map(
                (s) => html`
                  <div class="bar" role="img" aria-label="${s.label}: ${(s.score * 100).toFixed(1)}%">
                    <span>${s.label}</span>
                    <span class="track"><span class="fill" style="display:block;width:${(s.score * 100).toFixed(1)}%"></span></span>
                    <span>${(s.score * 100).toFixed(1)}%</span>
                  </div>
                `,
              )}
            </section>
          `,
        )}
      </div>
    `;
  }
}
customElements.define('sift-predict', PredictView);
