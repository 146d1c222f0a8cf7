import http from 'node:http';
import type { TestApi } from './api';

/** What POST /batches answered. */
export interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: { id?: string; error?: { code: string; message: string } };
}

/**
 * An upload held open: its headers and first row sent with `Expect: 100-continue`, so that it is
 * known to hold its slot once the server asks for the body (the route takes the slot before it
 * reads any). `finish` sends the rest and resolves with the answer.
 */
export interface OpenUpload {
  /** Resolves when the server asked for the body, or answered without asking. */
  reading: Promise<'reading' | 'answered'>;
  finish(): Promise<Answer>;
}

export function upload(t: TestApi, key: string, expectContinue: boolean, query = ''): { request: http.ClientRequest; answer: Promise<Answer> } {
  const headers: Record<string, string> = { 'content-type': 'text/csv', authorization: `Bearer ${key}` };
  if (expectContinue) headers.expect = '100-continue';
  const request = http.request(`${t.api.url}/batches${query}`, { method: 'POST', agent: false, headers });
  const answer = new Promise<Answer>((resolve, reject) => {
    request.once('response', (response) => {
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.once('end', () =>
        resolve({ status: response.statusCode!, retryAfter: response.headers['retry-after'] as string | undefined, body: JSON.parse(Buffer.concat(parts).toString()) as Answer['body'] }),
      );
      response.once('error', reject);
    });
    request.once('error', reject);
  });
  return { request, answer };
}

export function openUpload(t: TestApi, key: string, query = ''): OpenUpload {
  const { request, answer } = upload(t, key, true, query);
  request.flushHeaders();
  const reading = new Promise<'reading' | 'answered'>((resolve) => {
    request.once('continue', () => {
      request.write('text\nthe first row\n');
      resolve('reading');
    });
    void answer.then(() => resolve('answered'), () => resolve('answered'));
  });
  return {
    reading,
    finish: () => {
      request.end('the last row\n');
      return answer;
    },
  };
}

/** A whole small upload, sent at once. */
export function send(t: TestApi, key: string, body = 'text\na row\n', query = ''): Promise<Answer> {
  const { request, answer } = upload(t, key, false, query);
  request.end(body);
  return answer;
}
