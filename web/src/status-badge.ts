import { html } from 'lit';

const WORDS: Record<string, string> = { QUEUED: 'Queued', RUNNING: 'Running', COMPLETED: 'Completed', FAILED: 'Failed', CANCELLED: 'Cancelled' };

/** A batch's status as a coloured badge (the colours are in the shared styles, light and dark). */
export function statusBadge(status: string, testId?: string) {
  return html`<span class="state ${status.toLowerCase()}" data-testid=${testId ?? 'status-badge'}>${WORDS[status] ?? status}</span>`;
}
