/** A small leveled logger writing one line per event to stderr; components get a named child. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(component: string): Logger;
}

export function createLogger(level: LogLevel, component = 'sift', write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const at = (messageLevel: Exclude<LogLevel, 'silent'>) => (message: string) => {
    if (ORDER[messageLevel] < ORDER[level]) return;
    write(`${new Date().toISOString()} ${messageLevel.toUpperCase().padEnd(5)} [${component}] ${message}\n`);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (name) => createLogger(level, name, write),
  };
}

export function isLogLevel(value: string): value is LogLevel {
  return value in ORDER;
}
