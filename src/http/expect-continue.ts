import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** Answers whose 100 Continue deferContinue held back, until continueBody sends it. */
const awaitingContinue = new WeakSet<ServerResponse>();

/**
 * `Expect: 100-continue`: a client that sends it (curl does before a body of more than 1 MiB)
 * waits for `100 Continue` before it sends the body, so that a refusal known from the headers
 * costs it no upload. Node answers 100 Continue to every such request at once unless told
 * otherwise; here every request but those `defers` picks gets it at once as before, and those
 * get it from their route once their headers have passed (`continueBody`): a refusal before then
 * (no key, a key without the scope, a media type Sift does not read, a Content-Length over the
 * limit, HIGH without the priority scope) comes as the answer, and the body is never sent.
 */
export function deferContinue(server: Server, defers: (req: IncomingMessage) => boolean): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (defers(req)) awaitingContinue.add(res);
    else res.writeContinue();
    server.emit('request', req, res);
  });
}

/**
 * Tells a client whose 100 Continue was held back (deferContinue) to send its body now; nothing
 * for any other answer (Node said it already, or the client did not ask), so it is said once.
 */
export function continueBody(res: ServerResponse): void {
  if (!awaitingContinue.delete(res) || res.headersSent || res.writableEnded) return;
  res.writeContinue();
}

/**
 * A request's path as Express routes it: whatever its case (lower-cased here), and in a request
 * target of absolute form (`POST http://host/batches`) too. Null for one that is not a URL: no
 * route of Sift's answers it.
 */
export function routedPath(req: IncomingMessage): string | null {
  if (req.url === undefined) return null;
  try {
    return new URL(req.url, 'http://sift.invalid').pathname.toLowerCase();
  } catch {
    return null;
  }
}

/** Whether a request is a file upload (`POST /batches`, with a trailing slash too, whatever its query). */
export function isBatchUpload(req: IncomingMessage): boolean {
  if (req.method !== 'POST') return false;
  const path = routedPath(req);
  return path === '/batches' || path === '/batches/';
}
