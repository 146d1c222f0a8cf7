/** Why a server URL could not be read; `kind` says which rule it broke, so callers can word it. */
export class ServerUrlError extends Error {
  constructor(
    readonly given: string,
    readonly kind: 'NO_SCHEME' | 'NOT_A_URL' | 'BAD_SCHEME',
    message: string,
  ) {
    super(message);
    this.name = 'ServerUrlError';
  }
}

const SCHEMES: Record<string, string> = { 'http:': 'http:', 'https:': 'https:', 'ws:': 'http:', 'wss:': 'https:' };

/**
 * A Sift server's root URL from what someone pasted: the root or its GraphQL endpoint, with or
 * without a trailing slash (`http://127.0.0.1:4000`, `.../`, `.../graphql`, and the `ws://` form
 * of each), under a path prefix too when a proxy adds one. GraphQL is at `{root}/graphql`, files
 * at `{root}/batches/...`. Throws a ServerUrlError for a URL without a scheme, one that does not
 * parse, or a scheme a Sift server does not answer.
 */
export function serverRoot(given: string): string {
  const trimmed = given.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) throw new ServerUrlError(given, 'NO_SCHEME', `The server URL ${given} has no scheme; add http:// or https://.`);
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new ServerUrlError(given, 'NOT_A_URL', `The server URL ${given} is not a URL.`);
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme) throw new ServerUrlError(given, 'BAD_SCHEME', `The server URL ${given} starts with ${url.protocol}//; a Sift server answers http:// or https://.`);
  const root = url.pathname.replace(/\/+$/, '').replace(/\/graphql$/i, '');
  return `${scheme}//${url.host}${root}`;
}
