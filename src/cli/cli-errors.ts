/**
 * Exit codes of `sift`, stable for scripts: 0 done (a batch that completed, failed rows
 * included); 1 a batch that ended FAILED or CANCELLED, or up/serve/worker could not start; 2 bad
 * usage or input (fixed by changing the command or the file); 3 no Sift server answered; 4 the
 * server refused or failed the request; 130 interrupted (Ctrl-C), the batch left running.
 */
export const ExitCodes = {
  OK: 0,
  BATCH_NOT_COMPLETED: 1,
  /** The server, a worker or training could not start or run (the message says why). */
  START_FAILED: 1,
  BAD_INPUT: 2,
  UNREACHABLE: 3,
  SERVER_ERROR: 4,
  /** Ctrl-C while following a batch, which was left running (128 + SIGINT, as shells report it). */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** An error `sift` reports as one message and exits with its code (no stack trace). */
export class CliError extends Error {
  /** The server's Retry-After, in seconds, when it refused for now and said how long to wait. */
  readonly retryAfterSeconds?: number;

  constructor(message: string, readonly exitCode: ExitCode, readonly code?: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options);
    this.name = 'CliError';
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
