import { ApiError, keyRefused } from './api';
import { apiKey } from './api-key';

/** The file name a download's Content-Disposition gives (`attachment; filename="ID.csv"`), or null. */
function fileNameOf(response: Response): string | null {
  return /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? null;
}

/**
 * Saves one of the server's downloads (`/batches/ID/results.csv`) when the page holds an API key.
 * A plain link cannot carry the key: a browser sends no Authorization header when it follows one,
 * and a key in the link's URL would land in the server's and any proxy's logs and in the
 * browser's history. So the page fetches the file with the header and saves it from a Blob under
 * an object URL (`blob:…`, which names the data, not the key), revoked once the save has started.
 * The whole file passes through the page's memory (Chromium keeps large blobs on disk), where the
 * plain link streamed it: without a key the page keeps the plain link.
 */
export async function saveWithKey(path: string, fallbackName: string): Promise<void> {
  const sent = apiKey.key;
  let response: Response;
  try {
    response = await fetch(path, { headers: apiKey.headers(sent) });
  } catch {
    throw new ApiError('The Sift server is not answering. Check that it is running (npm start), then try again.', 'UNREACHABLE');
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } & Record<string, unknown> };
    if (response.status === 401) throw keyRefused(sent, body.error?.message ?? 'This server needs an API key.');
    const { code, message, ...details } = body.error ?? { code: 'INTERNAL_SERVER_ERROR', message: `The download failed (HTTP ${response.status}).` };
    throw new ApiError(message, code, details);
  }
  let blob: Blob;
  try {
    blob = await response.blob();
  } catch {
    throw new ApiError('The download broke off before the end; try again.', 'DOWNLOAD_FAILED');
  }
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileNameOf(response) ?? fallbackName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser reads the blob after the click returns: give it time before the URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
