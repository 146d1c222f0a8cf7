import { loadConfig, type SiftConfig } from '../config/config';
import { isSiftError } from '../errors';
import { createLogger, type Logger, type LogRole } from '../logger';
import { passwordRefusal } from '../redis/connections';

/** Something a process runs until it is told to stop. */
export interface Closable {
  close(): Promise<void>;
}

export interface ProcessSpec {
  /** How the process calls itself in messages: `sift`, `sift worker`. */
  name: string;
  /** The component name of its log lines. */
  component: string;
  /** The role its log lines say (`sift up` and `sift serve`: api, with the API in-process). */
  role: LogRole;
  /** Said when a signal arrives, before closing: what it finishes first. */
  stopping: string;
  start(config: Readonly<SiftConfig>, logger: Logger): Promise<Closable>;
}

/** After a close, a process that has not ended by itself within this time is ended anyway. */
const EXIT_GRACE_MS = 10_000;

/** Ends the process with `code` once nothing keeps it alive, or after the grace period (saying so). */
function exitWhenClosed(code: number, name: string): void {
  process.exitCode = code;
  setTimeout(() => {
    process.stderr.write(`${name}: something was still open ${EXIT_GRACE_MS / 1000} s after closing; exiting anyway.\n`);
    process.exit(code);
  }, EXIT_GRACE_MS).unref();
}

/**
 * One line that says why a start failed (a stack trace only for faults that are not Sift's own, at
 * debug level). It is for the person who started the process, so it is a plain line on stderr
 * whatever SIFT_LOG_FORMAT says (and the only one: not repeated as a log line).
 */
function startFailure(error: unknown, name: string, logger: Logger | undefined): string {
  if (isSiftError(error)) return `${name}: ${error.message}`;
  const refused = passwordRefusal((error as Error).message ?? '');
  if (refused) return `${name}: could not start: the Redis at REDIS_URL ${refused}.`;
  logger?.debug('the start failed', { err: error });
  return `${name}: could not start: ${(error as Error).message ?? String(error)} (SIFT_LOG_LEVEL=debug shows where)`;
}

/**
 * Runs one Sift process: reads the configuration once, starts the process's parts, and runs until
 * SIGINT, SIGTERM or SIGHUP, then closes them and exits 0. A start that fails closes whatever it had
 * opened (see Lifecycle), prints one line and exits 1 (2 for a setting it cannot read) by itself: no thread,
 * socket or child process keeps it alive. The same signal again while closing (Ctrl-C twice) exits at once.
 * `env` overrides the environment (`sift up --workers 2`).
 */
export async function runProcess(spec: ProcessSpec, env: Record<string, string> = {}): Promise<void> {
  let config: Readonly<SiftConfig>;
  try {
    config = loadConfig({ ...process.env, ...env });
  } catch (error) {
    process.stderr.write(`${startFailure(error, spec.name, undefined)}\n`);
    exitWhenClosed(2, spec.name);
    return;
  }
  const logger = createLogger(config.logLevel, spec.component, undefined, { role: spec.role, format: config.logFormat ?? undefined });
  let running: Closable;
  try {
    running = await spec.start(config, logger);
  } catch (error) {
    process.stderr.write(`${startFailure(error, spec.name, logger)}\n`);
    exitWhenClosed(1, spec.name);
    return;
  }
  const log = logger;
  let stoppedBy: NodeJS.Signals | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (stoppedBy === signal) {
      log.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    if (stoppedBy) {
      // Another signal is the same stop relayed another way, not an impatient user: Ctrl-C in a
      // terminal reaches `sift up`'s workers (its process group) and then `sift up` sends them SIGTERM.
      log.debug(`${signal} while stopping for ${stoppedBy}: already stopping`);
      return;
    }
    stoppedBy = signal;
    log.info(`${signal}: ${spec.stopping}, then stopping`);
    void running.close().finally(() => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', stop);
      exitWhenClosed(0, spec.name);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // The terminal it ran in was closed: stop as cleanly as for Ctrl-C (Node's default exits at once, saying nothing).
  process.on('SIGHUP', stop);
  // Started by `sift up`, which holds the other end of this channel: when it is gone without
  // stopping this process (SIGKILL, a crash), nothing would, and this worker ran on for good,
  // holding its metrics port, so the next `sift up`'s worker could not start (found by a
  // review). Stop as for SIGTERM. (The channel does not keep the process alive.)
  if (process.channel) {
    process.channel.unref();
    process.once('disconnect', () => {
      if (stoppedBy) return; // `sift up` stopped it, then went
      log.warn('the process that started this one (sift up) is gone');
      stop('SIGTERM');
    });
  }
}
