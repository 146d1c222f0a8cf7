/**
 * CPU seconds of several parties sampled on an interval, so the CPU each used between two moments
 * chosen afterwards (the phases of a run, known only once it ended) can be read off: linear
 * between the samples around each moment. A source that reads NaN (a process gone) leaves no
 * sample; exact points (0 at a process's start, its own figure at its exit) can be added.
 */
export type CpuSource = () => number | Promise<number>;

interface Sample {
  at: number;
  seconds: number;
}

/** Now in ms since the epoch, to the sub-millisecond: comparable with the records' and the probe's times. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export class CpuTimeline<Name extends string> {
  private readonly samples = new Map<Name, Sample[]>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly sources: Record<Name, CpuSource>) {
    for (const name of Object.keys(sources) as Name[]) this.samples.set(name, []);
  }

  /** Takes a sample of every source now, then every `intervalMs` until stop(). */
  async start(intervalMs: number): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => {
      // One sampling at a time: a slow INFO must not pile up behind itself.
      this.sampling = this.sampling.then(() => this.sample());
    }, intervalMs);
  }

  /** Stops sampling after one last sample. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.sampling;
    await this.sample();
  }

  /** Adds an exact figure, e.g. a process's own CPU time at its exit. */
  add(name: Name, at: number, seconds: number): void {
    const list = this.samples.get(name)!;
    list.push({ at, seconds });
    list.sort((a, b) => a.at - b.at);
  }

  /** CPU seconds `name` used from `from` to `to` (ms since the epoch); NaN where no samples surround them. */
  used(name: Name, from: number, to: number): number {
    return this.at(name, to) - this.at(name, from);
  }

  /**
   * The seconds from `from` to `to` (ms since the epoch) in which none of `names` used any CPU, in
   * spans of at least `minMs`: the time a set of processes spent all waiting. Read on the sampling
   * grid of the first of them; a step counts as idle when they used less than `tickSeconds` (half
   * of /proc's 10 ms tick by default) together.
   */
  idleSeconds(names: readonly Name[], from: number, to: number, minMs = 300, tickSeconds = 0.005): number {
    const grid = [from, ...this.samples.get(names[0])!.map((s) => s.at).filter((at) => at > from && at < to), to];
    const used = (a: number, b: number) => names.reduce((sum, name) => sum + this.used(name, a, b), 0);
    let idle = 0;
    let spanStart: number | null = null;
    for (let i = 1; i <= grid.length; i++) {
      const still = i < grid.length && used(grid[i - 1], grid[i]) < tickSeconds;
      if (still && spanStart === null) spanStart = grid[i - 1];
      if (!still && spanStart !== null) {
        const span = grid[i - 1] - spanStart;
        if (span >= minMs) idle += span / 1000;
        spanStart = null;
      }
    }
    return idle;
  }

  private at(name: Name, moment: number): number {
    const list = this.samples.get(name)!;
    if (list.length === 0) return NaN;
    if (moment <= list[0].at) return list[0].seconds;
    const last = list[list.length - 1];
    if (moment >= last.at) return last.seconds;
    const after = list.findIndex((s) => s.at >= moment);
    const a = list[after - 1];
    const b = list[after];
    return a.seconds + ((b.seconds - a.seconds) * (moment - a.at)) / (b.at - a.at || 1);
  }

  private async sample(): Promise<void> {
    await Promise.all(
      (Object.entries(this.sources) as [Name, CpuSource][]).map(async ([name, read]) => {
        const at = epochMs();
        const seconds = await read();
        if (Number.isFinite(seconds)) this.samples.get(name)!.push({ at, seconds });
      }),
    );
  }
}
