/** One JSON log line as Sift writes it (SIFT_LOG_FORMAT=json). */
export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  time: string;
  role: 'api' | 'worker' | 'cli';
  pid: number;
  component: string;
  msg: string;
  requestId?: string;
  event?: string;
  batchId?: string;
  err?: { type: string; message: string; stack: string };
  [field: string]: unknown;
}

/**
 * Parses log output (lines, or chunks of several lines) into JSON log lines; throws, naming it, on
 * any line that is not one, or that lacks the fields every line has.
 */
export function parseLogLines(output: string | readonly string[]): LogLine[] {
  const text = typeof output === 'string' ? output : output.join('');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
      const { level, time, role, pid, component, msg } = parsed;
      const complete =
        ['debug', 'info', 'warn', 'error'].includes(level) &&
        typeof time === 'string' &&
        new Date(time).toISOString() === time &&
        ['api', 'worker', 'cli'].includes(role) &&
        Number.isInteger(pid) &&
        typeof component === 'string' &&
        typeof msg === 'string';
      if (!complete) throw new Error(`a log line without level, time, role, pid, component or msg: ${line}`);
      return parsed;
    });
}
