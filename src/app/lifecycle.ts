import type { Logger } from '../logger';

/** How one open part is closed: stop taking work, let what is in hand finish, release what it holds. */
export type CloseStep = () => Promise<void> | void;

interface Registered {
  name: string;
  close: CloseStep;
}

/**
 * The open parts of one process, in the order they were opened. Each builder registers a close
 * step as soon as its part is open, so whatever happens next (a failed start, a signal, a test's
 * `close()`), `close` stops exactly what was opened, newest first: the HTTP server before the
 * services behind it, those before the connections they use.
 */
export class Lifecycle {
  private readonly steps: Registered[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /** True once `close` has begun: a builder still running should open nothing more. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Registers a part that is open now; returns it, so a builder can write `const x = own(...)`. */
  own<T>(name: string, part: T, close: (part: T) => Promise<void> | void): T {
    if (this.closed) {
      // A part opened after a close began (a start racing a signal) is closed at once.
      void Promise.resolve().then(() => close(part)).catch((error: Error) => this.logger.warn(`closing ${name}: ${error.message}`));
      return part;
    }
    this.steps.push({ name, close: () => close(part) });
    return part;
  }

  /** Opens a part and registers its close step; when opening throws, nothing is registered. */
  async open<T>(name: string, open: () => Promise<T> | T, close: (part: T) => Promise<void> | void): Promise<T> {
    return this.own(name, await open(), close);
  }

  /** Registers a step to run at close time that closes no part of its own (a timer, a listener). */
  onClose(name: string, step: CloseStep): void {
    this.own(name, undefined, step);
  }

  /**
   * Closes every part, newest first, once (later calls get the same promise). A step that fails is
   * logged and the others still run: one stuck part must not keep the rest open.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const step of this.steps.splice(0).reverse()) {
        try {
          await step.close();
        } catch (error) {
          this.logger.warn(`closing ${step.name}: ${(error as Error).message}`);
        }
      }
    })();
    return this.closing;
  }
}

/**
 * Builds something on a lifecycle of its own: when the build throws part way, what it had opened
 * is closed before the error goes on, so a failed start leaks no thread, socket or child process.
 */
export async function buildOrClose<T>(logger: Logger, build: (lifecycle: Lifecycle) => Promise<T>): Promise<T> {
  const lifecycle = new Lifecycle(logger);
  try {
    return await build(lifecycle);
  } catch (error) {
    await lifecycle.close();
    throw error;
  }
}
