/**
 * What must be stopped if the run ends early (an error, Ctrl-C, the watchdog): child processes a
 * section started. Sections stop their children themselves on every normal path; run.ts calls
 * `runAll()` before it leaves on an abort, so none outlives the bench.
 */
export class Cleanup {
  private readonly steps = new Set<() => Promise<unknown>>();
  private stopping = false;

  /**
   * Registers a step; the returned function unregisters it (call it once the thing is stopped).
   * Once runAll() has begun, the step runs at once instead: a section still running while the
   * run is being stopped must not leave a child it starts now behind (runAll saw the steps as
   * they were when it began).
   */
  add(step: () => Promise<unknown>): () => void {
    if (this.stopping) {
      void step().catch((error: Error) => process.stderr.write(`bench: clean-up step failed: ${error.message}\n`));
      return () => undefined;
    }
    this.steps.add(step);
    return () => this.steps.delete(step);
  }

  /** Runs every registered step, newest first; a failing step does not stop the others. */
  async runAll(): Promise<void> {
    this.stopping = true;
    for (const step of [...this.steps].reverse()) {
      this.steps.delete(step);
      await step().catch((error: Error) => process.stderr.write(`bench: clean-up step failed: ${error.message}\n`));
    }
  }
}
