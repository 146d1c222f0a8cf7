import { css } from 'lit';

/** Styles every view shares: readable on a phone and a desktop, visible focus, plain colours. */
export const shared = css`
  :host { display: block; font: 16px/1.5 system-ui, sans-serif; color: #1b1f24; }
  h2 { font-size: 1.25rem; margin: 0 0 0.75rem; }
  label { display: block; font-weight: 600; margin: 0.75rem 0 0.25rem; }
  textarea, select, input[type='file'] { width: 100%; box-sizing: border-box; font: inherit; padding: 0.5rem; border: 1px solid #8c959f; border-radius: 6px; }
  textarea { min-height: 7rem; resize: vertical; }
  button { font: inherit; padding: 0.5rem 1rem; margin-top: 0.75rem; border-radius: 6px; border: 1px solid #1f6feb; background: #1f6feb; color: white; cursor: pointer; }
  button[disabled] { opacity: 0.6; cursor: default; }
  button.secondary { background: white; color: #1f6feb; }
  :focus-visible { outline: 3px solid #f0883e; outline-offset: 2px; }
  .error { color: #a40e26; background: #ffebe9; border: 1px solid #ff8182; padding: 0.5rem 0.75rem; border-radius: 6px; margin-top: 0.75rem; }
  .muted { color: #57606a; }
  .badge { display: inline-block; font-size: 0.8rem; padding: 0 0.5rem; border-radius: 999px; background: #ddf4ff; color: #0969da; margin-left: 0.5rem; }
  table { border-collapse: collapse; width: 100%; }
  .scroll { overflow-x: auto; }
  code { overflow-wrap: anywhere; }
  th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
`;
