import type { PredictionCache } from '../cache/prediction-cache';
import type { CountedRows } from '../metrics/batch-metrics';
import type { ModelCatalog } from '../models/model-catalog';
import type { ScoreMatrix } from '../models/model-runner';
import { distinctIndex, scoreThroughCache } from '../predictions/cached-scoring';
import { bestLabelIndex } from '../predictions/prediction';
import { textProblem } from '../predictions/text-rules';
import { contextFromCarrier, inSpan, SpanAttributes, SpanKind, SpanNames, type Span } from '../tracing/spans';
import { isFinalStatus } from './batch-status';
import type { BatchStore } from './batch-store';
import type { ChunkJob } from './batch-types';
import type { ProgressChannel } from './progress-channel';
import { ChunkOutcomesWriter } from './row-codec';

/** Runs a batch of texts through a model (the inference pool). */
export type ChunkScorer = (model: string, texts: string[]) => Promise<ScoreMatrix>;

export interface ChunkProcessorOptions {
  store: BatchStore;
  cache: PredictionCache;
  catalog: ModelCatalog;
  scorer: ChunkScorer;
  channel: ProgressChannel;
  /** Texts in one run of a model at most, by the model's name (see models/run-size.ts). */
  runSize: (model: string) => number;
  /** An upload silent for this long counts as abandoned: its chunks are skipped. */
  abandonedAfterMs: number;
  /** Told the rows of each chunk this processor counted, once (`sift_batch_rows_total`). */
  metrics?: { chunkCounted(model: string, rows: CountedRows): void };
}

/** What one chunk run did. */
export type ChunkOutcome = 'done' | 'already-counted' | 'skipped';

/**
 * One chunk of a batch: read the cache for all its rows in one round trip, run the model on the
 * distinct misses, fill the cache, store the results and count them (once, atomically), then
 * publish a progress event with the chunk's rows. Rows that cannot be labelled fail alone, with
 * the reason.
 */
export class ChunkProcessor {
  constructor(private readonly options: ChunkProcessorOptions) {}

  /**
   * Runs one chunk inside a `batch chunk` span, the child of its batch submission's span when the
   * job carries that trace context (else the root of a trace of its own): a child rather than a
   * link, so a batch is one trace from its upload to its last chunk and one sampling decision
   * keeps or drops it whole.
   */
  process(job: ChunkJob): Promise<ChunkOutcome> {
    const attributes = { [SpanAttributes.BATCH_ID]: job.batchId, [SpanAttributes.CHUNK_INDEX]: job.chunk };
    return inSpan(SpanNames.BATCH_CHUNK, { kind: SpanKind.CONSUMER, attributes, parent: contextFromCarrier(job.trace) }, async (span) => {
      try {
        const outcome = await this.run(job, span);
        span.setAttribute(SpanAttributes.CHUNK_OUTCOME, outcome);
        return outcome;
      } catch (error) {
        span.setAttribute(SpanAttributes.CHUNK_OUTCOME, 'error');
        throw error;
      }
    });
  }

  private async run(job: ChunkJob, span: Span): Promise<ChunkOutcome> {
    const { store, catalog, cache } = this.options;
    const state = await store.state(job.batchId);
    // Gone (bad input, expired) or ended (cancelled, failed): the chunk has nothing left to do,
    // and its input is not needed any more.
    if (!state || isFinalStatus(state.status)) {
      await store.dropChunkInput(job.batchId, job.chunk);
      return 'skipped';
    }
    // An upload whose API process died half way: no work for it (the sweeper removes it).
    if (!state.ingested && Date.now() - state.aliveAt > this.options.abandonedAfterMs) return 'skipped';
    const input = await store.loadChunk(job.batchId, job.chunk);
    if (!input) return 'skipped';
    const { first, texts } = input;
    const model = catalog.resolve(state.model);
    span.setAttributes({ [SpanAttributes.MODEL]: model.name, [SpanAttributes.CHUNK_ROWS]: texts.length });

    const problems = texts.map((text) => rowProblem(text, model.maxTextLength));
    const { distinct, positions } = distinctIndex(texts.map((text, i) => (problems[i] === null ? text : null)));
    const scored = await scoreThroughCache(cache, model, distinct, (misses) => this.score(model.name, misses));
    // Each distinct text's label, found once however many rows repeat it.
    const labels = scored.map(({ scores }) => model.labels[bestLabelIndex(scores)]);
    const counts = { succeeded: 0, failed: 0, cached: 0, labels: {} as Record<string, number> };
    const outcomes = new ChunkOutcomesWriter();
    for (let i = 0; i < texts.length; i++) {
      const problem = problems[i];
      if (problem !== null) {
        counts.failed++;
        outcomes.add(null, false, problem);
        continue;
      }
      const found = scored[positions[i]];
      counts.succeeded++;
      if (found.cached) counts.cached++;
      const label = labels[positions[i]];
      counts.labels[label] = (counts.labels[label] ?? 0) + 1;
      outcomes.add(found.scoresJson, found.cached, null);
    }
    span.setAttributes({ [SpanAttributes.CHUNK_ROWS_CACHED]: counts.cached, [SpanAttributes.CHUNK_ROWS_FAILED]: counts.failed });
    const { outcome } = await store.recordChunk(job.batchId, job.chunk, first, counts, texts.length, outcomes.json());
    if (outcome !== 'counted') return outcome === 'already-counted' ? 'already-counted' : 'skipped';
    this.options.metrics?.chunkCounted(model.name, counts);
    // A chunk's rows have consecutive indices: the message names the range.
    await this.options.channel.chunkFinished(job.batchId, first, texts.length);
    return 'done';
  }

  /** Runs texts through the model in runs of at most its run size, in order. */
  private async score(model: string, texts: string[]): Promise<Float32Array[]> {
    const scores: Float32Array[] = [];
    const size = this.options.runSize(model);
    for (let start = 0; start < texts.length; start += size) {
      const matrix = await this.options.scorer(model, texts.slice(start, start + size));
      // Views, not copies: every run's matrix is new (ModelRunner copies ONNX Runtime's output), and
      // a copy per row allocated an ArrayBuffer each (41-50 ms for 140,000 rows against 6).
      for (let row = 0; row < matrix.rows; row++) scores.push(matrix.values.subarray(row * matrix.labels, (row + 1) * matrix.labels));
    }
    return scores;
  }
}

function rowProblem(text: string | null, maxTextLength: number): string | null {
  // Null is what ingest keeps for a row with no string in its text field: absent, or (JSON Lines)
  // a number, true or an object there.
  if (text === null) return 'The text field is missing from this row, or is not a string.';
  return textProblem(text, maxTextLength)?.message ?? null;
}
