import { css } from 'lit';

/**
 * The page's colours as custom properties, set once on the app's host and inherited by every
 * view's shadow root: a light set, and a dark one when the system asks for it.
 */
export const theme = css`
  :host {
    color-scheme: light;
    --bg: #ffffff;
    --surface: #f6f8fa;
    --fg: #1f2328;
    --muted: #59636e;
    --border: #d1d9e0;
    --accent: #0969da;
    --accent-strong: #1f6feb;
    --on-accent: #ffffff;
    --track: #eaeef2;
    --error-fg: #a40e26;
    --error-bg: #ffebe9;
    --error-border: #ff8182;
    --queued-bg: #eaeef2; --queued-fg: #424a53;
    --running-bg: #ddf4ff; --running-fg: #0550ae;
    --completed-bg: #dafbe1; --completed-fg: #116329;
    --failed-bg: #ffebe9; --failed-fg: #a40e26;
    --cancelled-bg: #fff8c5; --cancelled-fg: #7d4e00;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      color-scheme: dark;
      --bg: #0d1117;
      --surface: #161b22;
      --fg: #e6edf3;
      --muted: #9198a1;
      --border: #3d444d;
      --accent: #4493f8;
      --accent-strong: #1f6feb;
      --on-accent: #ffffff;
      --track: #30363d;
      --error-fg: #ffa198;
      --error-bg: #2c1214;
      --error-border: #8e1519;
      --queued-bg: #30363d; --queued-fg: #d1d7e0;
      --running-bg: #0c2d6b; --running-fg: #a5d6ff;
      --completed-bg: #0f3d1f; --completed-fg: #7ee787;
      --failed-bg: #4a0f12; --failed-fg: #ffa198;
      --cancelled-bg: #3d2e00; --cancelled-fg: #f2cc60;
    }
  }
`;

/** Styles every view shares: readable on a phone and a desktop, visible focus, light and dark. */
export const shared = css`
  :host { display: block; font: 16px/1.5 system-ui, sans-serif; color: var(--fg); }
  h2 { font-size: 1.25rem; margin: 0 0 0.75rem; }
  h3 { font-size: 1.05rem; margin: 1.5rem 0 0.5rem; }
  a { color: var(--accent); }
  label { display: block; font-weight: 600; margin: 0.75rem 0 0.25rem; }
  textarea, select, input[type='file'] { width: 100%; box-sizing: border-box; font: inherit; padding: 0.5rem; border: 1px solid var(--border); border-radius: 6px; background: var(--bg); color: var(--fg); }
  textarea { min-height: 7rem; resize: vertical; }
  button { font: inherit; padding: 0.5rem 1rem; margin-top: 0.75rem; border-radius: 6px; border: 1px solid var(--accent-strong); background: var(--accent-strong); color: var(--on-accent); cursor: pointer; }
  button[disabled] { opacity: 0.6; cursor: default; }
  button.secondary { background: transparent; color: var(--accent); border-color: var(--accent); }
  button.danger { background: var(--error-fg); border-color: var(--error-fg); color: var(--bg); }
  :focus-visible { outline: 3px solid #f0883e; outline-offset: 2px; }
  .error { color: var(--error-fg); background: var(--error-bg); border: 1px solid var(--error-border); padding: 0.5rem 0.75rem; border-radius: 6px; margin-top: 0.75rem; }
  .muted { color: var(--muted); }
  .badge { display: inline-block; font-size: 0.8rem; line-height: 1.6; padding: 0 0.5rem; border-radius: 999px; background: var(--running-bg); color: var(--running-fg); margin-left: 0.5rem; white-space: nowrap; }
  /* A batch's status as a coloured pill (status-badge.ts). */
  .state { display: inline-block; font-size: 0.85rem; font-weight: 600; line-height: 1.7; padding: 0 0.6rem; border-radius: 999px; white-space: nowrap; }
  .state.queued { background: var(--queued-bg); color: var(--queued-fg); }
  .state.running { background: var(--running-bg); color: var(--running-fg); }
  .state.completed { background: var(--completed-bg); color: var(--completed-fg); }
  .state.failed { background: var(--failed-bg); color: var(--failed-fg); }
  .state.cancelled { background: var(--cancelled-bg); color: var(--cancelled-fg); }
  code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
  /* An id on one line, cut with an ellipsis when the space is short (the full id is in its title). */
  .id { display: inline-block; max-width: 100%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: bottom; }
  table { border-collapse: collapse; width: 100%; }
  .scroll { overflow-x: auto; }
  th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
  th { font-size: 0.9rem; color: var(--muted); font-weight: 600; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  /* A table whose rows become cards on a narrow screen; each view places its cells (grid areas). */
  @media (max-width: 40rem) {
    table.cards thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
    table.cards, table.cards tbody { display: block; }
    table.cards tr { display: grid; gap: 0.15rem 0.75rem; padding: 0.6rem 0.75rem; margin-bottom: 0.6rem; border: 1px solid var(--border); border-radius: 8px; background: var(--surface); }
    table.cards td { display: block; padding: 0; border: 0; min-width: 0; }
    table.cards td.num { text-align: left; }
  }
`;
