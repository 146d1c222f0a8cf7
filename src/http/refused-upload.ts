import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long a refused upload's connection stays open for the client to read the answer. */
export const REFUSED_UPLOAD_LINGER_MS = 10_000;

/** How long a refused upload's connection stays open once the server is stopping. */
const STOPPING_LINGER_MS = 500;

/** How much of a refused upload's rest is read and dropped: enough to reuse the connection after a small body. */
export const REFUSED_UPLOAD_DRAIN_BYTES = 1024 * 1024;

/** How a refused upload is drained; the defaults are what the API uses. */
export interface RefusedUploadOptions {
  lingerMs?: number;
  maxBytes?: number;
  /** Aborted when the server stops. */
  stopping?: AbortSignal;
}

/**
 * After an upload was answered before its body was all read (a refusal: a row too large, a key
 * without the scope, a HIGH batch from a key without the priority scope): reads and drops up to
 * `maxBytes` more of the body, then stops reading, and closes the connection `lingerMs` after
 * the answer if the body has not ended by then, or half a second after `stopping` aborts (the server stops).
 *
 * Not `Connection: close` at once: closing a socket with unread bytes in it makes the kernel reset
 * the connection, and a reset that reaches the client before it has read the answer throws the
 * answer away. The client then saw only its write fail (`sift batch` said the server could not be
 * reached, EPIPE, in 4 of 12 tries of a file whose second line was too long). Left open, the
 * client reads the answer whole: one that stops sending on an early answer (`sift`, curl) ends
 * the connection itself; one that sends on only fills the sockets' buffers once the server has
 * stopped reading, which costs the server nothing, until the linger ends. A small body read to
 * its end leaves the connection to be used again.
 */
export function drainRefusedUpload(req: IncomingMessage, { lingerMs = REFUSED_UPLOAD_LINGER_MS, maxBytes = REFUSED_UPLOAD_DRAIN_BYTES, stopping }: RefusedUploadOptions = {}): void {
  if (req.complete) return;
  const restore = endGently(req.socket);
  const timer = setTimeout(() => req.socket.destroy(), lingerMs);
  timer.unref();
  // A server that stops closes it soon: the linger is for a client still reading its answer, and
  // waiting it out held the API's stop for seconds (the drain waits for every open request). Not
  // at once: an upload refused because the server stops (SERVER_STOPPING) still gets its answer.
  const stop = () => setTimeout(() => req.socket.destroy(), STOPPING_LINGER_MS).unref();
  if (stopping?.aborted) stop();
  else stopping?.addEventListener('abort', stop, { once: true });
  let drained = 0;
  const drop = (piece: Buffer | string) => {
    drained += piece.length;
    if (drained <= maxBytes) return;
    req.off('data', drop);
    req.pause();
  };
  const settled = () => {
    clearTimeout(timer);
    stopping?.removeEventListener('abort', stop);
  };
  req.on('data', drop);
  req.once('end', () => {
    settled();
    // The body read to its end: nothing can reset the connection any more, and it may be used again as any other.
    restore();
  });
  req.once('close', settled);
  req.resume();
}

/**
 * A connection Node will not keep alive after this answer (the client asked for 100 Continue and
 * was refused before it, see expect-continue.ts, or it said Connection: close) is closed, once the
 * answer is written, with the socket's destroySoon: destroyed at once, which resets the connection
 * under body bytes still on their way, and a client that sent its body without waiting for 100
 * Continue then lost the answer to EPIPE (17 and 19 times in 30 in a review). Without destroySoon
 * Node ends such a socket instead (its own fallback): the answer, then a FIN, with the socket
 * still read (drained above) until the client closes it or the linger ends. Called before the
 * answer's 'finish' (the same tick as the refusal), when Node makes that choice; returns what puts
 * the socket's own destroySoon back.
 */
function endGently(socket: Socket): () => void {
  const own = socket as unknown as { destroySoon?: unknown };
  own.destroySoon = undefined;
  return () => delete own.destroySoon;
}
