import { css, html } from 'lit';
import { count } from './format';

/** Styles of `labelChart`, for the view that shows it. */
export const labelChartStyles = css`
  .chart { display: grid; gap: 0.3rem; }
  .chart .bar { display: grid; grid-template-columns: minmax(4rem, 9rem) minmax(0, 1fr) 4.5rem; gap: 0.5rem; align-items: center; }
  .chart .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .chart .track { background: var(--track); border-radius: 4px; height: 0.9rem; }
  .chart .fill { display: block; background: var(--accent-strong); height: 100%; border-radius: 4px; }
  .chart .bar.failed .fill { background: var(--error-fg); }
  .chart .n { text-align: right; font-variant-numeric: tabular-nums; }
`;

/**
 * Rows per label, as the server counts them (`Batch.labelCounts`, in the model's label order), and
 * the failed rows beside them when there are any: no row is read to draw it.
 */
export function labelChart(labelCounts: readonly { label: string; count: number }[], failed: number) {
  const bars = [...labelCounts.map((c) => ({ ...c, failed: false })), ...(failed > 0 ? [{ label: 'failed', count: failed, failed: true }] : [])];
  const most = Math.max(1, ...bars.map((b) => b.count));
  return html`
    <div class="chart" data-testid="label-chart">
      ${bars.map(
        (b) => html`<div class="bar ${b.failed ? 'failed' : ''}" role="img" aria-label="${b.label}: ${b.count} rows">
          <span class="name" title=${b.label}>${b.label}</span>
          <span class="track"><span class="fill" style="width:${b.count === 0 ? 0 : Math.max(0.5, (100 * b.count) / most)}%"></span></span>
          <span class="n">${count(b.count)}</span>
        </div>`,
      )}
    </div>
  `;
}
