/** The stack (or message) of a serialized `err`, on the lines after the event's own. */
function errorLines(err: unknown): string {
  const { stack, message } = err !== null && typeof err === 'object' ? (err as { stack?: unknown; message?: unknown }) : { message: err };
  const text = typeof stack === 'string' ? stack : message === undefined ? '' : String(message);
  return text === '' ? '' : `\n    ${text.split('\n').join('\n    ')}`;
}

/**
 * Turns one of pino's JSON lines into a line a person reads on a terminal, synchronously (no
 * transport thread: nothing to keep a process alive or to lose at exit):
 *
 * ```
 * [2026-12-03T10:25:07.207Z] INFO: api 4242 [batches] batch mx7e-6b37 submitted: 3 rows for model tiny-hashed, by admin requestId=test-123
 * ```
 *
 * Time and level, the role and pid, the component and the message, and the request's id. The
 * other fields are for machines (JSON lines): the message says what a person needs. One line per
 * event, except an error's stack, which follows indented.
 */
export function prettyLines(colorize: boolean): (jsonLine: string) => string {
  // Loaded only where lines are pretty: JSON processes never need it.
  const { prettyFactory } = require('pino-pretty') as typeof import('pino-pretty');
  return prettyFactory({
    colorize,
    translateTime: false,
    hideObject: true,
    ignore: 'pid,hostname,role,component',
    messageFormat: (log) => {
      const request = typeof log.requestId === 'string' ? ` requestId=${log.requestId}` : '';
      return `${String(log.role)} ${String(log.pid)} [${String(log.component)}] ${String(log.msg)}${request}${errorLines(log.err)}`;
    },
  });
}
