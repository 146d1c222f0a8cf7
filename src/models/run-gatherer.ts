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
 */
export class RunGatherer {
  private readonly waiting = new Map<string, Waiting[]>();
  /** Per model, how to cancel the flush scheduled for its waiting texts. */
  private readonly scheduled = new Map<string, () => void>();
  private inFlight = 0;
  private runs = 0;
  private rows = 0;

  constructor(private readonly scorer: RunScorer, private readonly options: RunGathererOptions) {}

  /** Probabilities of one text (one value per label). */
  score(model: string, text: string): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(model) ?? [];
      queue.push({ text, context: activeContext(), resolve, reject });
      this.waiting.set(model, queue);
      if (queue.length >= this.options.maxRunSize) this.flush(model);
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

  private flush(model: string): void {
    this.scheduled.get(model)?.();
    this.scheduled.delete(model);
    // A finished run calls flush again, so texts waiting here are not forgotten.
    while (this.inFlight < this.options.maxInFlight) {
      const queue = this.waiting.get(model);
      if (!queue || queue.length === 0) return;
      this.run(model, queue.splice(0, this.options.maxRunSize));
    }
  }

  private run(model: string, gathered: Waiting[]): void {
    this.inFlight++;
    this.runs++;
    this.rows += gathered.length;
    // In the context of the run's first text: its request's trace holds the run, whichever turn of
    // the event loop (a timer, another run's end) starts it.
    inContext(gathered[0].context, () => this.scorer(model, gathered.map((w) => w.text))).then(
      (matrix) => gathered.forEach((w, row) => w.resolve(matrix.values.slice(row * matrix.labels, (row + 1) * matrix.labels))),
      (error) => gathered.forEach((w) => w.reject(error)),
    ).finally(() => {
      this.inFlight--;
      this.flushAny();
    });
  }

  private flushAny(): void {
    for (const model of this.waiting.keys()) this.flush(model);
  }
}
