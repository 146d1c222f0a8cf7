/** Waiting for a condition a test cannot be told about, by asking again and again. */

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await checkBy(check, deadline, what)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * One run of a polling check, false when it throws, bounded by the poll's deadline: a check that
 * never settles (a request to a server stuck on a dead connection) fails the wait with its name,
 * rather than hang until Jest's own timeout, which names nothing.
 */
export async function checkBy(check: () => Promise<boolean>, deadline: number, what: string): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}: the last check had not answered by the deadline`)), Math.max(0, deadline - Date.now()) + 1000);
  });
  try {
    return await Promise.race([check().catch(() => false), late]);
  } finally {
    clearTimeout(timer);
  }
}
