/** Waits `ms`, without keeping the process alive for it. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Tries `attempt` every `everyMs` until it succeeds or `forMs` have passed; resolves whether it
 * did. For clean-ups after a failed upload that Redis, away for now, cannot take yet: the
 * client has its answer, and the clean-up goes on in the background once Redis is back.
 */
export async function retryUntilDone(attempt: () => Promise<unknown>, { everyMs, forMs }: { everyMs: number; forMs: number }): Promise<boolean> {
  const deadline = Date.now() + forMs;
  while (Date.now() < deadline) {
    await sleep(everyMs);
    if (await attempt().then(() => true, () => false)) return true;
  }
  return false;
}
