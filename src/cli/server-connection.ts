import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { serverRoot as clientServerRoot, ServerUrlError } from '../client/server-url';
import { authErrorOf, SiftAuthError, SiftClient, SiftConnectionError, SiftProtocolError, SiftRequestError } from '../client/sift-client';
import { authFailure, type ApiKey } from './api-key';
import { CliError, ExitCodes } from './cli-errors';
import { bodyText, httpRequest, type HttpRequestInit } from './http-request';
import { RECONNECT_DEFAULTS, type ReconnectOptions } from './reconnect';

/** The default server: the one `sift up` / `npm start` runs. */
export const DEFAULT_URL = 'http://localhost:4000';

/**
 * The server's root URL from what a user gave `--url` (or `SIFT_URL`): the root or its GraphQL
 * endpoint, with or without a trailing slash, in its `ws://` form too (the client's `serverRoot`
 * reads it). Every command talks to the server through this one root: GraphQL at
 * `{root}/graphql`, files at `{root}/batches/...`. A URL without a scheme is bad input (exit 2),
 * with the URL it probably meant. An empty one is the default, http://localhost:4000.
 */
export function serverRoot(given: string): string {
  // An empty SIFT_URL counts as none, as an empty SIFT_API_KEY does (a variable set but cleared).
  if (given.trim() === '') return clientServerRoot(DEFAULT_URL);
  try {
    return clientServerRoot(given);
  } catch (error) {
    if (!(error instanceof ServerUrlError)) throw error;
    const trimmed = given.trim();
    let words: string;
    switch (error.kind) {
      case 'NO_SCHEME':
        words = `The server URL ${given} has no scheme: add http:// or https:// to --url (or SIFT_URL), e.g. --url http://${trimmed.replace(/^\/+/, '')}`;
        break;
      case 'NOT_A_URL':
        words = `The server URL ${given} is not a URL; give the server's address to --url (or SIFT_URL), e.g. --url ${DEFAULT_URL}`;
        break;
      case 'BAD_SCHEME':
        words = `The server URL ${given} starts with ${new URL(trimmed).protocol}//; a Sift server answers http:// or https://, e.g. --url ${DEFAULT_URL}`;
        break;
    }
    throw new CliError(words, ExitCodes.BAD_INPUT, 'BAD_URL');
  }
}

/** What `sift` says when nothing answers at the URL. */
function unreachable(url: string, cause: unknown): CliError {
  const code = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as { code?: string }).code;
  return new CliError(
    `Could not reach a Sift server at ${url}${code ? ` (${code})` : ''}. Start one with \`npx sift up\` (or \`npm start\`), or point --url (or SIFT_URL) at a running server.`,
    ExitCodes.UNREACHABLE,
    'UNREACHABLE',
    { cause },
  );
}

/**
 * A server's refusal as a CliError: GraphQL errors, or `{ error: { code, message } }` over HTTP
 * with its status (a 4xx is the caller's input, exit 2; a 5xx the server's, exit 4).
 */
function refused(error: SiftRequestError | { code: string; message: string }, status?: number, retryAfter?: string): CliError {
  const code = error instanceof SiftRequestError ? (error.reason ?? error.code ?? 'ERROR') : error.code;
  const badInput = error instanceof SiftRequestError ? error.code === 'BAD_USER_INPUT' : status !== undefined && status < 500;
  // Retry-After in seconds (Sift's servers never send the date form); past a double's range, as a
  // non-finite retryAfterSeconds over GraphQL is, not a wait at all.
  const seconds = retryAfter === undefined || !/^\d+$/.test(retryAfter) || !Number.isFinite(Number(retryAfter)) ? undefined : Number(retryAfter);
  return new CliError(error.message, badInput ? ExitCodes.BAD_INPUT : ExitCodes.SERVER_ERROR, code, { retryAfterSeconds: seconds });
}

/** An answer's body as Sift's JSON error, or null when it is not JSON (a proxy's page, another server). */
function errorBody(text: string): { error?: { code: string; message: string } } | null {
  try {
    return JSON.parse(text) as { error?: { code: string; message: string } } | null;
  } catch {
    return null;
  }
}

/**
 * The `sift` command line's view of a server: the typed GraphQL client plus the HTTP routes for
 * files, with every failure turned into a CliError that says what to do. The API key, when given,
 * goes on every request, upload, download and WebSocket through the client.
 */
export class ServerConnection {
  readonly client: SiftClient;

  /** The server's root URL (see serverRoot), named in messages. */
  readonly url: string;

  /**
   * @param url as the user gave it: the server's root or its /graphql endpoint
   * @param reconnect how long to keep trying when the server goes away while following a batch
   * @param apiKey the key of --api-key or SIFT_API_KEY (see apiKeyFrom), for a server that needs one
   */
  constructor(url: string, readonly reconnect: Readonly<ReconnectOptions> = RECONNECT_DEFAULTS, private readonly apiKey?: ApiKey) {
    this.url = serverRoot(url);
    this.client = new SiftClient(this.url, { apiKey: apiKey?.key });
  }

  /** Runs a GraphQL call, translating connection failures and refusals. */
  async call<T>(run: (client: SiftClient) => Promise<T>): Promise<T> {
    try {
      return await run(this.client);
    } catch (error) {
      throw this.failure(error);
    }
  }

  /** `POST /batches` with a streamed body; resolves with the 202 answer. */
  async upload(body: Readable, contentType: string, query: Record<string, string>): Promise<{ id: string; status: string; total: number }> {
    const response = await this.http(`/batches?${new URLSearchParams(query)}`, { method: 'POST', headers: { 'content-type': contentType }, body });
    try {
      return JSON.parse(await bodyText(response)) as { id: string; status: string; total: number };
    } catch (error) {
      // A 2xx that is not Sift's JSON (a proxy's page, another server): said as such, without a stack.
      throw this.failure(error);
    }
  }

  /**
   * A batch's results download (`GET /batches/{id}/results.jsonl`, or `.csv`), as a stream of
   * bytes; without `echo`, rows without their id and text (`?echo=false`; a server older than
   * that option sends them anyway). `follow`: the server goes on sending rows as they finish until
   * the batch ends; `signal` aborts the download.
   */
  async results(id: string, echo = true, format: 'jsonl' | 'csv' = 'jsonl', options: { follow?: boolean; signal?: AbortSignal } = {}): Promise<Readable> {
    const query = [...(echo ? [] : ['echo=false']), ...(options.follow ? ['follow=true'] : [])];
    return this.http(`/batches/${encodeURIComponent(id)}/results.${format}${query.length > 0 ? `?${query.join('&')}` : ''}`, { signal: options.signal });
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }

  /** A request to one of the server's HTTP routes, with the API key; resolves with a 2xx answer, its body unread. */
  private async http(path: string, init: HttpRequestInit): Promise<IncomingMessage> {
    const headers = { ...init.headers, ...(this.apiKey ? { authorization: `Bearer ${this.apiKey.key}` } : {}) };
    let response: IncomingMessage;
    try {
      response = await httpRequest(`${this.url}${path}`, { ...init, headers });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw unreachable(this.url, error);
    }
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) return response;
    const body = errorBody(await bodyText(response).catch(() => ''));
    const auth = authErrorOf(status, body);
    if (auth) throw authFailure(auth, this.apiKey);
    if (body?.error) throw refused(body.error, status, response.headers['retry-after']);
    throw new CliError(`The server at ${this.url} answered ${status} to ${path}; is that URL a Sift server?`, ExitCodes.SERVER_ERROR);
  }

  /** A failure as the CliError sift reports (a refused key, a refusal, no server, not a Sift server), or as it is. */
  failure(error: unknown): unknown {
    if (error instanceof CliError) return error;
    if (error instanceof SiftAuthError) return authFailure(error, this.apiKey);
    if (error instanceof SiftRequestError) return refused(error);
    if (error instanceof SiftConnectionError) return unreachable(this.url, error);
    const message = String((error as Error)?.message ?? error);
    // fetch fails with a TypeError whose cause carries ECONNREFUSED etc.; graphql-ws reports a closed socket.
    if (error instanceof TypeError || /ECONNREFUSED|ENOTFOUND|socket|connect|closed/i.test(message) || (error as { type?: string })?.type === 'error') {
      return unreachable(this.url, error);
    }
    if (error instanceof SyntaxError || error instanceof SiftProtocolError) {
      return new CliError(`The server at ${this.url} did not answer like a Sift server (${message}); check --url.`, ExitCodes.SERVER_ERROR);
    }
    return error;
  }
}
