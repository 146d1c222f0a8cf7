import { activeContext, inContext, type TraceContext } from '../tracing/spans';
import type { ScoreMatrix } from './model-runner';

/** Runs a group of texts through a model in one run. */
export type RunScorer = (model: string, texts: string[]) => Promise<ScoreMatrix>;

export interface RunGathererOptions {
  /** Texts in one model run at most. */
  maxRunSize: number;
  /**
   * How long a text waits for company while a thread is free, in ms. 0: only until the end of the
   * current turn of the event loop, so texts that arrived together (one read of Redis replies,
   * one read of several sockets) still share a run, and a lone text adds no delay.
   */
  windowMs: number;
  /** Model runs in flight at once (the number of inference threads); texts queue behind them. */
  maxInFlight: number;
}

interface Waiting {
  text: string;
  /** The trace context the text came in (its request's), which a run it leads runs in. */
  context: TraceContext;
  resolve(scores: Float32Array): void;
  reject(error: unknown): void;
}

/**
 * A first-in, first-out list that takes from its front in O(1): Array#shift and splice(0, n) move
 * every item left behind, and a Map used as a queue (delete at the front, set at the back) keeps
 * the deleted entries in its table, which every walk from the front passes over again.
 */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The first item, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T; // no longer held
    this.compact();
    return item;
  }

  /** Up to `count` items from the front, removed, appended to `into`. */
  moveInto(into: T[], count: number): void {
    const end = Math.min(this.items.length, this.head + count);
    for (let i = this.head; i < end; i++) into.push(this.items[i]);
    this.items.fill(undefined as T, this.head, end);
    this.head = end;
    this.compact();
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * One model's waiting texts, a queue per owner (whoever sent them: an API key, or a client
 * address with auth off), owners in the order they are next served.
 */
class ModelQueue {
  private readonly queues = new Map<string, Fifo<Waiting>>();
  /** Each owner with texts waiting, once, in the order they are next served. */
  private readonly order = new Fifo<string>();
  size = 0;

  add(owner: string, waiting: Waiting): void {
    let queue = this.queues.get(owner);
    if (!queue) {
      this.queues.set(owner, (queue = new Fifo()));
      this.order.push(owner);
    }
    queue.push(waiting);
    this.size++;
  }

  /**
   * Up to `max` texts for the next run, shared out between owners: each gets an equal share of
   * the run, and a share an owner cannot fill goes to the others. An owner served goes to the back
   * of the order, so when there are more owners than places, the next run starts with the others.
   * First come, first served within an owner. Visits only the owners the run takes from, so a run
   * costs the same however many owners wait.
   */
  take(max: number): Waiting[] {
    const run: Waiting[] = [];
    while (run.length < max && this.order.length > 0) {
      const share = Math.max(1, Math.floor((max - run.length) / this.order.length));
      // One pass over the owners waiting at its start, or fewer once the run is full; the owners
      // served are put back after the pass, behind the others.
      const served: string[] = [];
      for (let left = this.order.length; left > 0 && run.length < max; left--) {
        const owner = this.order.shift()!;
        const queue = this.queues.get(owner)!;
        queue.moveInto(run, Math.min(share, max - run.length));
        if (queue.length > 0) served.push(owner);
        else this.queues.delete(owner);
      }
      for (const owner of served) this.order.push(owner);
    }
    this.size -= run.length;
    return run;
  }
}

/** Counters for the benchmark and `/metrics`. */
export interface RunStats {
  runs: number;
  rows: number;
  meanRunSize: number;
}

/**
 * Gathers texts that arrive within a few milliseconds into one model run (what is often called
 * micro-batching; Sift keeps the word "batch" for a user's job). While every thread is busy, texts
 * keep gathering, so runs grow with load: the busier the server, the fewer and larger the runs.
 *
 * Texts wait per owner, and each run is shared between the owners waiting (ModelQueue.take): a
 * client that keeps thousands of texts queued (many `predictMany` calls at once, each within its
 * rate limits) no longer holds another's single `predict` behind all of them. That one text goes
 * into the next run to start, so it waits for the runs in flight, not for the queue.
 */
export class RunGatherer {
  private readonly waiting = new Map<string, ModelQueue>();
  /** Per model, how to cancel the flush scheduled for its waiting texts. */
  private readonly scheduled = new Map<string, () => void>();
  private inFlight = 0;
  /** Runs started so far, and the count at each model's last start: the models' turns (flushAny). */
  private runStarts = 0;
  private readonly lastStarted = new Map<string, number>();
  private runs = 0;
  private rows = 0;

  constructor(private readonly scorer: RunScorer, private readonly options: RunGathererOptions) {}

  /**
   * Probabilities of one text (one value per label).
   * @param owner whose text it is (see the class): texts of one owner share runs fairly with others'
   */
  score(model: string, text: string, owner = ''): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      let queue = this.waiting.get(model);
      if (!queue) this.waiting.set(model, (queue = new ModelQueue()));
      queue.add(owner, { text, context: activeContext(), resolve, reject });
      if (queue.size >= this.options.maxRunSize) this.flush(model);
      else if (!this.scheduled.has(model)) this.scheduled.set(model, this.schedule(() => this.flush(model)));
    });
  }

  stats(): RunStats {
    return { runs: this.runs, rows: this.rows, meanRunSize: this.runs === 0 ? 0 : this.rows / this.runs };
  }

  /** Runs `fn` once the window has passed; returns its cancel. */
  private schedule(fn: () => void): () => void {
    // setTimeout(fn, 0) waits at least 1 ms in Node; setImmediate runs right after this turn's I/O.
    if (this.options.windowMs === 0) {
      const immediate = setImmediate(fn);
      return () => clearImmediate(immediate);
    }
    const timer = setTimeout(fn, this.options.windowMs);
    return () => clearTimeout(timer);
  }

  /** Starts runs of `model`'s waiting texts while a slot is free (its window has passed, or a run's worth waits). */
  private flush(model: string): void {
    this.cancelFlush(model);
    // A finished run calls flushAny, so texts waiting here are not forgotten.
    while (this.inFlight < this.options.maxInFlight) if (!this.startRun(model)) return;
  }

  /**
   * Fills the free slots from the models with texts waiting, one run at a time, each to the model
   * whose last run started longest ago (one that has not run yet first). Without these turns, the
   * model first used (the default, mostly) took every slot a finished run freed while its queue
   * lasted, and a text of another model waited for all of that queue, whoever sent it.
   */
  private flushAny(): void {
    while (this.inFlight < this.options.maxInFlight) {
      let next: string | undefined;
      for (const [model, queue] of this.waiting) {
        if (queue.size > 0 && (next === undefined || (this.lastStarted.get(model) ?? -1) < (this.lastStarted.get(next) ?? -1))) next = model;
      }
      if (next === undefined) return;
      this.cancelFlush(next);
      this.startRun(next);
    }
  }

  /** Cancels the flush scheduled for `model`'s waiting texts, if any: they are being run now. */
  private cancelFlush(model: string): void {
    this.scheduled.get(model)?.();
    this.scheduled.delete(model);
  }

  /** Starts one run of `model`'s waiting texts; false when none wait. */
  private startRun(model: string): boolean {
    const queue = this.waiting.get(model);
    if (!queue || queue.size === 0) return false;
    this.lastStarted.set(model, ++this.runStarts);
    this.run(model, queue.take(this.options.maxRunSize));
    return true;
  }

  private run(model: string, gathered: Waiting[]): void {
    this.inFlight++;
    this.runs++;
    this.rows += gathered.length;
    // In the context of the run's first text: its request's trace holds the run, whichever turn of
    // the event loop (a timer, another run's end) starts it.
    let scored: Promise<ScoreMatrix>;
    try {
      scored = inContext(gathered[0].context, () => this.scorer(model, gathered.map((w) => w.text)));
    } catch (error) {
      // A scorer that throws rather than rejects: its texts fail, and the slot is freed all the same.
      scored = Promise.reject(error);
    }
    scored.then(
      (matrix) => gathered.forEach((w, row) => w.resolve(matrix.values.slice(row * matrix.labels, (row + 1) * matrix.labels))),
      (error) => gathered.forEach((w) => w.reject(error)),
    ).finally(() => {
      this.inFlight--;
      this.flushAny();
    });
  }
}
