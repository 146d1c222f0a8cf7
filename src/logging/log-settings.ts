/**
 * The logger's settings, apart from the logger itself, so that reading them (the config) loads no
 * logging library: `sift` commands that talk to a server read the config and log nothing.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** `json`: one JSON object a line. `pretty`: a line a person reads (see pretty-lines.ts). */
export type LogFormat = 'json' | 'pretty';

const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error', 'silent'] satisfies LogLevel[];

export function isLogLevel(value: string): value is LogLevel {
  return LEVELS.includes(value);
}
