import { html, LitElement, css } from 'lit';
import { ModelsDocument, PredictManyDocument, type ModelsQuery, type PredictManyQuery } from '../../src/client/generated/graphql';
import { request } from './api';
import { inWords } from './messages';
import { shared } from './styles';

type Model = ModelsQuery['models'][number];
type Prediction = PredictManyQuery['predictMany'][number];

/** Predict: texts (one a line) through predictMany, each with a bar per label and whether the cache answered. */
export class PredictView extends LitElement {
  static properties = { models: { state: true }, model: { state: true }, predictions: { state: true }, error: { state: true }, busy: { state: true } };
  static styles = [
    shared,
    css`
      form, .results { max-width: 44rem; }
      .result { border: 1px solid var(--border); background: var(--surface); border-radius: 8px; padding: 0.5rem 0.75rem; margin-top: 0.75rem; }
      .result p { margin: 0.25rem 0; }
      .text { font-style: italic; overflow-wrap: break-word; }
      .bar { display: grid; grid-template-columns: minmax(4rem, 9rem) minmax(0, 1fr) 4rem; gap: 0.5rem; align-items: center; }
      .bar .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .bar .n { text-align: right; font-variant-numeric: tabular-nums; }
      .track { background: var(--track); border-radius: 4px; height: 0.8rem; }
      .fill { background: var(--accent-strong); border-radius: 4px; height: 100%; }
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
      this.error = inWords(error);
    }
  }

  private async predict(event: Event): Promise<void> {
    event.preventDefault();
    // Blank lines are skipped; each text keeps its line number, to say which line a refusal is about.
    const lines = (this.renderRoot.querySelector('#texts') as HTMLTextAreaElement).value.split('\n').map((text, i) => ({ text, line: i + 1 })).filter(({ text }) => text.trim() !== '');
    const texts = lines.map((l) => l.text);
    if (texts.length === 0) {
      this.error = 'Type a text to label (one a line for several).';
      return;
    }
    this.busy = true;
    this.error = '';
    try {
      this.predictions = (await request(PredictManyDocument, { texts, model: this.model || null })).predictMany;
    } catch (error) {
      this.error = inWords(error, { lines: lines.map((l) => l.line), model: this.models.find((m) => m.name === this.model) });
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
      <div class="results" aria-live="polite">
        ${this.predictions.map(
          (p) => html`
            <section class="result" data-testid="prediction">
              <p class="text">${p.text}</p>
              <p><strong data-testid="label">${p.label}</strong> ${(p.score * 100).toFixed(1)}%${p.cached ? html`<span class="badge" data-testid="cached">from cache</span>` : ''}</p>
              ${p.scores.map(
                (s) => html`
                  <div class="bar" role="img" aria-label="${s.label}: ${(s.score * 100).toFixed(1)}%">
                    <span class="name" title=${s.label}>${s.label}</span>
                    <span class="track"><span class="fill" style="display:block;width:${(s.score * 100).toFixed(1)}%"></span></span>
                    <span class="n">${(s.score * 100).toFixed(1)}%</span>
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
