import type { Readable } from 'node:stream';
import { SiftClient, SiftRequestError } from '../client/sift-client';
import { CliError, ExitCodes } from './cli-errors';

/** The default server: the one `sift up` / `npm start` runs. */
export const DEFAULT_URL = 'http://localhost:4000';

const SCHEMES: Record<string, string> = { 'http:': 'http:', 'https:': 'https:', 'ws:': 'http:', 'wss:': 'https:' };

/**
 * The server's root URL from what a user gave `--url` (or `SIFT_URL`): the root or its GraphQL
 * endpoint, with or without a trailing slash (`http://127.0.0.1:4000`, `.../`, `.../graphql`, and
 * the `ws://` form of each), under a path prefix too when a proxy adds one. Every command talks to
 * the server through this one root: GraphQL at `{root}/graphql`, files at `{root}/batches/...`.
 * A URL without a scheme is bad input (exit 2), with the URL it probably meant.
 */
export function serverRoot(given: string): string {
  const trimmed = given.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw new CliError(`The server URL ${given} has no scheme: add http:// or https:// to --url (or SIFT_URL), e.g. --url http://${trimmed.replace(/^\/+/, '')}`, ExitCodes.BAD_INPUT, 'BAD_URL');
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new CliError(`The server URL ${given} is not a URL; give the server's address to --url (or SIFT_URL), e.g. --url ${DEFAULT_URL}`, ExitCodes.BAD_INPUT, 'BAD_URL');
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme) throw new CliError(`The server URL ${given} starts with ${url.protocol}//; a Sift server answers http:// or https://, e.g. --url ${DEFAULT_URL}`, ExitCodes.BAD_INPUT, 'BAD_URL');
  const root = url.pathname.replace(/\/+$/, '').replace(/\/graphql$/i, '');
  return `${scheme}//${url.host}${root}`;
}

/** What `sift` says when nothing answers at the URL. */
function unreachable(url: string, cause: unknown): CliError {
  const code = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as { code?: string }).code;
  return new CliError(
    `Could not reach a Sift server at ${url}${code ? ` (${code})` : ''}. Start one with \`npx sift up\` (or \`npm start\`), or point --url (or SIFT_URL) at a running server.`,
    ExitCodes.UNREACHABLE,
    'UNREACHABLE',
  );
}

/**
 * A server's refusal as a CliError: GraphQL errors, or `{ error: { code, message } }` over HTTP
 * with its status (a 4xx is the caller's input, exit 2; a 5xx the server's, exit 4).
 */
function refused(error: SiftRequestError | { code: string; message: string }, status?: number): CliError {
  const code = error instanceof SiftRequestError ? (error.reason ?? error.code ?? 'ERROR') : error.code;
  const badInput = error instanceof SiftRequestError ? error.code === 'BAD_USER_INPUT' : status !== undefined && status < 500;
  return new CliError(error.message, badInput ? ExitCodes.BAD_INPUT : ExitCodes.SERVER_ERROR, code);
}

/**
 * The `sift` command line's view of a server: the typed GraphQL client plus the HTTP routes for
 * files, with every failure turned into a CliError that says what to do.
 */
export class ServerConnection {
  readonly client: SiftClient;

  /** The server's root URL (see serverRoot), named in messages. */
  readonly url: string;

  /** `url` as the user gave it: the server's root or its /graphql endpoint. */
  constructor(url: string) {
    this.url = serverRoot(url);
    this.client = new SiftClient(this.url);
  }

  /** Runs a GraphQL call, translating connection failures and refusals. */
  async call<T>(run: (client: SiftClient) => Promise<T>): Promise<T> {
    try {
      return await run(this.client);
    } catch (error) {
      throw this.translate(error);
    }
  }

  /** Iterates a subscription, translating failures. */
  async *watch<T>(subscribe: (client: SiftClient) => AsyncGenerator<T>): AsyncGenerator<T> {
    try {
      yield* subscribe(this.client);
    } catch (error) {
      throw this.translate(error);
    }
  }

  /** `POST /batches` with a streamed body; resolves with the 202 answer. */
  async upload(body: Readable, contentType: string, query: Record<string, string>): Promise<{ id: string; status: string; total: number }> {
    const response = await this.http(`/batches?${new URLSearchParams(query)}`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: body as unknown as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    return (await response.json()) as { id: string; status: string; total: number };
  }

  /** `GET /batches/{id}/results.jsonl`, as a stream of lines' bytes. */
  async results(id: string): Promise<ReadableStream<Uint8Array>> {
    const response = await this.http(`/batches/${encodeURIComponent(id)}/results.jsonl`, {});
    return response.body!;
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }

  private async http(path: string, init: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.client.baseUrl}${path}`, init);
    } catch (error) {
      throw unreachable(this.url, error);
    }
    if (response.ok) return response;
    const body = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    if (body?.error) throw refused(body.error, response.status);
    throw new CliError(`The server at ${this.url} answered ${response.status} to ${path}; is that URL a Sift server?`, ExitCodes.SERVER_ERROR);
  }

  private translate(error: unknown): unknown {
    if (error instanceof CliError) return error;
    if (error instanceof SiftRequestError) return refused(error);
    const message = String((error as Error)?.message ?? error);
    // fetch fails with a TypeError whose cause carries ECONNREFUSED etc.; graphql-ws reports a closed socket.
    if (error instanceof TypeError || /ECONNREFUSED|ENOTFOUND|socket|connect|closed/i.test(message) || (error as { type?: string })?.type === 'error') {
      return unreachable(this.url, error);
    }
    if (error instanceof SyntaxError) {
      return new CliError(`The server at ${this.url} did not answer like a Sift server (${message}); check --url.`, ExitCodes.SERVER_ERROR);
    }
    return error;
  }
}
