import { css, html } from 'lit';
import type { Row } from './row-window';

/**
 * The finished rows as a table on a wide screen and as cards on a narrow one: the text always
 * gets the room (on a phone, the whole width of its card), words break only where they must, and
 * a row's error sits under its text instead of in a column of its own.
 */
export const batchRowsStyles = css`
  table.rows { table-layout: fixed; }
  table.rows th.index { width: 4.5rem; }
  table.rows th.rid { width: 8rem; }
  table.rows th.label { width: 8rem; }
  table.rows th.score { width: 4.5rem; }
  table.rows td.text { overflow-wrap: break-word; }
  table.rows .row-error { display: block; color: var(--error-fg); font-size: 0.9rem; }
  table.rows td.label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .failed-label { color: var(--error-fg); font-weight: 600; }
  @media (max-width: 40rem) {
    table.rows tr { grid-template-columns: auto minmax(0, 1fr) auto auto; grid-template-areas: 'index rid label score' 'text text text text'; }
    table.rows td.index { grid-area: index; color: var(--muted); }
    table.rows td.index::before { content: '#'; }
    table.rows td.rid { grid-area: rid; color: var(--muted); }
    table.rows td.label { grid-area: label; font-weight: 600; }
    table.rows td.score { grid-area: score; color: var(--muted); }
    table.rows td.text { grid-area: text; }
  }
`;

/** The rows table (cards on a phone); `rows` in the order to show them. */
export function batchRows(rows: readonly Row[]) {
  const ids = rows.some((r) => r.id !== null && r.id !== '');
  return html`
    <table class="rows cards" role="table">
      <thead>
        <tr role="row">
          <th scope="col" role="columnheader" class="index num">#</th>
          ${ids ? html`<th scope="col" role="columnheader" class="rid">Id</th>` : ''}
          <th scope="col" role="columnheader" class="text">Text</th>
          <th scope="col" role="columnheader" class="label">Label</th>
          <th scope="col" role="columnheader" class="score num">Score</th>
        </tr>
      </thead>
      <tbody data-testid="rows">
        ${rows.map(
          (r) => html`<tr role="row">
            <td role="cell" class="index num">${r.index}</td>
            ${ids ? html`<td role="cell" class="rid"><span class="id mono" title=${r.id ?? ''}>${r.id ?? ''}</span></td>` : ''}
            <td role="cell" class="text">${r.text}${r.error ? html`<span class="row-error">${r.error}</span>` : ''}</td>
            <td role="cell" class="label" title=${r.prediction?.label ?? 'failed'}>${r.prediction ? r.prediction.label : html`<span class="failed-label">failed</span>`}</td>
            <td role="cell" class="score num">${r.prediction ? r.prediction.score.toFixed(3) : ''}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  `;
}
