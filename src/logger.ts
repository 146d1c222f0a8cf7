/**
 * Sift's logger: pino underneath, one line per event. JSON lines (for a log collector) or
 * readable lines (for a person at a terminal), each with its level, time, the process's role
 * (api, worker, cli), pid and host, the component that wrote it, and, while an HTTP request is
 * being handled, that request's id. Components get a named child.
 */
import { hostname } from 'node:os';
import pino, { type DestinationStream, type Level } from 'pino';
import { currentRequestId } from './logging/request-context';
import type { LogFormat, LogLevel } from './logging/log-settings';
import { prettyLines } from './logging/pretty-lines';

export { isLogLevel, type LogFormat, type LogLevel } from './logging/log-settings';

/** What kind of process wrote a line: the API (`sift up`, `sift serve`), a worker, or another tool. */
export type LogRole = 'api' | 'worker' | 'cli';

/** Structured fields of one line, beside its message (`err` for an error: its type, message and stack). */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** The same logger for another component (lines say `component: name`). */
  child(component: string): Logger;
  /** Whether lines at `level` are written: work done only for a line (a timer, a listener) can be skipped. */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
}

export interface LogOptions {
  /** @defaultValue `cli` */
  role?: LogRole;
  /**
   * @defaultValue `pretty` when lines go to stderr and stderr is a terminal, `json` otherwise
   * (a `write` function is never a terminal).
   */
  format?: LogFormat;
  /** Colours in pretty lines. @defaultValue whether lines go to a terminal */
  colors?: boolean;
}

/** A line writer that writes each line at once, on this thread: nothing is lost when the process exits. */
function stderrWriter(): (line: string) => void {
  const stream = pino.destination({ dest: 2, sync: true });
  return (line) => stream.write(line);
}

function wrap(log: pino.Logger, root: pino.Logger): Logger {
  return {
    debug: (message, fields) => (fields === undefined ? log.debug(message) : log.debug(fields, message)),
    info: (message, fields) => (fields === undefined ? log.info(message) : log.info(fields, message)),
    warn: (message, fields) => (fields === undefined ? log.warn(message) : log.warn(fields, message)),
    error: (message, fields) => (fields === undefined ? log.error(message) : log.error(fields, message)),
    // From the root, so a child of a child says one component, not two.
    child: (component) => wrap(root.child({ component }), root),
    enabled: (level) => log.isLevelEnabled(level),
  };
}

/**
 * A logger for `component` writing lines at `level` and above to `write` (default: stderr,
 * synchronously, as Node writes to a terminal, file or pipe anyway). Tests pass a `write` that
 * keeps the lines.
 */
export function createLogger(level: LogLevel, component = 'sift', write?: (line: string) => void, options: LogOptions = {}): Logger {
  const terminal = write === undefined && process.stderr.isTTY === true;
  const format = options.format ?? (terminal ? 'pretty' : 'json');
  const out = write ?? stderrWriter();
  let destination: DestinationStream = { write: out };
  if (format === 'pretty') {
    const pretty = prettyLines(options.colors ?? terminal);
    destination = { write: (line) => out(pretty(line)) };
  }
  const root = pino(
    {
      level: level as Level | 'silent',
      // The host tells apart workers on several machines (or containers, where pids repeat).
      base: { role: options.role ?? 'cli', pid: process.pid, hostname: hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Lines written while a request is handled carry its id (see logging/request-context.ts).
      mixin: () => {
        const requestId = currentRequestId();
        return requestId === undefined ? {} : { requestId };
      },
    },
    destination,
  );
  return wrap(root.child({ component }), root);
}
