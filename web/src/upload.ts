import type { BatchPriority } from '../../src/batches/batch-priority';
import { ApiError, keyRefused } from './api';
import { apiKey } from './api-key';

/** What the page can tell of a file before uploading it: its format and the columns of its first row. */
export interface FileColumns {
  format: 'csv' | 'jsonl';
  columns: string[];
}

// The first record of a CSV header: quoted fields may hold commas and doubled quotes.
function csvHeader(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') fields.push(field), (field = '');
    else field += c;
  }
  fields.push(field);
  return fields;
}

/** Reads the start of the file in the browser (never the whole of it) and lists its columns or fields. */
export async function readColumns(file: File): Promise<FileColumns> {
  const name = file.name.toLowerCase();
  const format = name.endsWith('.csv') ? 'csv' : name.endsWith('.jsonl') || name.endsWith('.ndjson') ? 'jsonl' : null;
  if (!format) throw new ApiError(`${file.name} is neither .csv nor .jsonl; choose a CSV file with a header row, or JSON Lines.`);
  const head = (await file.slice(0, 64 * 1024).text()).replace(/^\uFEFF/, '');
  const firstLine = head.split(/\r?\n/).find((line) => line.trim() !== '');
  if (firstLine === undefined) throw new ApiError(`${file.name} is empty; it needs a header row and at least one row.`);
  if (format === 'csv') return { format, columns: csvHeader(firstLine) };
  try {
    const value = JSON.parse(firstLine) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return { format, columns: Object.keys(value) };
  } catch {
    throw new ApiError(`The first line of ${file.name} is not a JSON object; JSON Lines needs one object a line.`);
  }
}

/** POST /batches with the file as the body; resolves with the new batch's id, or throws the server's error (code, message, details). */
export async function uploadFile(file: File, format: 'csv' | 'jsonl', options: { textColumn: string; idColumn?: string; model?: string; priority?: BatchPriority }): Promise<string> {
  const query = new URLSearchParams({ textColumn: options.textColumn });
  if (options.idColumn) query.set('idColumn', options.idColumn);
  if (options.model) query.set('model', options.model);
  if (options.priority) query.set('priority', options.priority);
  const sent = apiKey.key;
  let response: Response;
  try {
    response = await fetch(`/batches?${query}`, { method: 'POST', headers: { 'content-type': format === 'csv' ? 'text/csv' : 'application/x-ndjson', ...apiKey.headers(sent) }, body: file });
  } catch {
    throw new ApiError('The Sift server is not answering. Check that it is running (npm start), then try again.', 'UNREACHABLE');
  }
  const body = (await response.json().catch(() => ({}))) as { id?: string; error?: { code: string; message: string } & Record<string, unknown> };
  if (response.status === 401) throw keyRefused(sent, body.error?.message ?? 'This server needs an API key.');
  if (!response.ok || !body.id) {
    const { code, message, ...details } = body.error ?? { code: 'INTERNAL_SERVER_ERROR', message: `The upload failed (HTTP ${response.status}).` };
    throw new ApiError(message, code, details);
  }
  return body.id;
}
