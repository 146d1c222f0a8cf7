import { css, html, LitElement, type PropertyValues } from 'lit';
import { apiKey, type KeyPrompt } from './api-key';
import { shared } from './styles';

/**
 * The form the page shows instead of a view when the server needs an API key: a password field,
 * "Use this key", where keys come from, and for a refused key the server's words. The key
 * is kept for this tab only (api-key.ts); the app then makes its view again, which reads
 * everything again with the key.
 */
export class KeyPromptView extends LitElement {
  static properties = { prompt: { attribute: false }, error: { state: true } };
  static styles = [
    shared,
    css`
      form { max-width: 36rem; }
      input[type='password'] { width: 100%; box-sizing: border-box; font: inherit; font-family: ui-monospace, monospace; padding: 0.5rem; border: 1px solid var(--border); border-radius: 6px; background: var(--bg); color: var(--fg); }
      code { font-family: ui-monospace, monospace; }
    `,
  ];

  prompt: KeyPrompt | null = null;
  error = '';

  protected firstUpdated(_changed: PropertyValues<this>): void {
    // The form is the one thing to do here: the field takes the focus.
    this.renderRoot.querySelector<HTMLInputElement>('#api-key')?.focus();
  }

  private submit(event: Event): void {
    event.preventDefault();
    const key = (this.renderRoot.querySelector('#api-key') as HTMLInputElement).value.trim();
    if (key === '') {
      this.error = 'Paste the API key first.';
      return;
    }
    if (!/^[\x21-\x7e]+$/.test(key)) {
      this.error = 'An API key is one word, without spaces or line breaks: paste it as sift keys create printed it.';
      return;
    }
    apiKey.use(key);
  }

  render() {
    const refused = this.prompt?.refused ?? false;
    return html`
      <h2>This server needs an API key</h2>
      ${refused ? html`<p class="error" role="alert" data-testid="key-refused">The key was refused: ${this.prompt?.message}</p>` : ''}
      <form @submit=${this.submit}>
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false" placeholder="sift_…" />
        <p class="muted">No key? An operator makes one with <code>sift keys create</code>. This tab keeps the key until you close it or choose Forget key, and sends it only to this server.</p>
        <button type="submit">Use this key</button>
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
    `;
  }
}
customElements.define('sift-key-prompt', KeyPromptView);
