import type { IncomingMessage } from 'node:http';

/** How long an upload answered before its end may go on sending, to be read and dropped. */
export const REFUSED_UPLOAD_LINGER_MS = 10_000;

/**
 * Reads and drops the rest of an upload answered before its body was all read (a refusal: a row
 * too large, a HIGH batch from a key without the priority scope), for up to `lingerMs`, then
 * closes the connection if the client is still sending.
 *
 * Not `Connection: close` at once: closing a socket with unread bytes in it makes the kernel reset
 * the connection, and a reset that reaches the client before it has read the answer throws the
 * answer away. The client then saw only its write fail (`sift batch` said the server could not be
 * reached, EPIPE, in 4 of 12 tries of a file whose second line was too long). Read on, the answer
 * arrives whole: a client that stops sending on an early answer (`sift`, curl) ends the connection
 * itself, one that sends everything first (fetch) gets the answer at its body's end.
 */
export function drainRefusedUpload(req: IncomingMessage, lingerMs = REFUSED_UPLOAD_LINGER_MS): void {
  if (req.complete) return;
  const timer = setTimeout(() => req.socket.destroy(), lingerMs);
  timer.unref();
  const settled = () => clearTimeout(timer);
  req.once('end', settled);
  req.once('close', settled);
  req.resume();
}
