/**
 * What the in-process micro benches (record-splitter.ts, featurizer.ts, text-hash.ts) share: the
 * same code of this checkout and, with BENCH_OTHER_ROOT=<another checkout, built>, of that one,
 * timed in alternating order so both see the same machine.
 */
import path from 'node:path';

/** A named build's export: this checkout's, and the other checkout's when BENCH_OTHER_ROOT names one. */
export function builds<T>(own: T, compiledModule: string, exportName: string): [name: string, value: T][] {
  const sides: [string, T][] = [['this checkout', own]];
  const other = process.env.BENCH_OTHER_ROOT;
  if (other) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module = require(path.resolve(other, 'dist', compiledModule)) as Record<string, T>;
    sides.push([other, module[exportName]]);
  }
  return sides;
}

/** Runs `timed` on every side `rounds` times, the order reversing each round; prints each side's milliseconds. */
export function alternate<T>(sides: readonly [string, T][], rounds: number, timed: (value: T, name: string) => number): void {
  const times = new Map(sides.map(([name]) => [name, [] as number[]]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, value] of round % 2 === 0 ? sides : [...sides].reverse()) times.get(name)!.push(timed(value, name));
  }
  for (const [name, ms] of times) console.log(`${name.padEnd(24)} ${ms.map((t) => t.toFixed(1)).join(', ')}`);
}

/** Runs a bench script's main, printing its failure and setting the exit code. */
export function runBench(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
