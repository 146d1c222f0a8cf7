import { css, html, LitElement } from 'lit';
import { shared } from './styles';

/** A small button that copies `text` (a batch id, say) to the clipboard and says so for a moment. */
export class CopyButton extends LitElement {
  static properties = { text: {}, label: {}, copied: { state: true } };
  static styles = [
    shared,
    css`
      :host { display: inline-block; }
      button { margin: 0; padding: 0.1rem 0.55rem; font-size: 0.8rem; font-weight: 400; }
    `,
  ];

  text = '';
  label = 'Copy';
  copied = false;
  private timer?: ReturnType<typeof setTimeout>;

  private async copy(): Promise<void> {
    try {
      await navigator.clipboard.writeText(this.text);
    } catch {
      // No clipboard access (an insecure origin, a denied permission): select-and-copy instead.
      const area = Object.assign(document.createElement('textarea'), { value: this.text });
      document.body.append(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    this.copied = true;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => (this.copied = false), 1500);
  }

  render() {
    return html`<button class="secondary" type="button" aria-label=${this.label} @click=${this.copy}>${this.copied ? 'Copied' : 'Copy'}</button>`;
  }
}
customElements.define('sift-copy', CopyButton);
