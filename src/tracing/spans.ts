/**
 * Sift's spans, through the OpenTelemetry API alone. Until a tracer provider is registered (see
 * tracer.ts, only when an OTLP endpoint is set) every call here is the API's no-op: a span that
 * records nothing, a context that is never stored, a propagator that writes nothing.
 *
 * What a span may carry: names, ids, counts and outcomes. Never a text, a variable, an API key or
 * a message quoting a client's input.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { isSiftError } from '../errors';

export { SpanKind, type Span };
/** A trace context (which span is the parent of what starts in it); opaque outside this module. */
export type TraceContext = Context;

/** The instrumentation scope every Sift span is made under. */
export const TRACER_NAME = 'sift';

/** Attribute names, in one place: the standard ones Sift sets, and its own under `sift.`. */
export const SpanAttributes = {
  GRAPHQL_OPERATION_NAME: 'graphql.operation.name',
  GRAPHQL_OPERATION_TYPE: 'graphql.operation.type',
  HTTP_METHOD: 'http.request.method',
  HTTP_STATUS: 'http.response.status_code',
  ERROR_TYPE: 'error.type',
  /** The codes of the errors an answer carried (`TEXT_TOO_LONG`, `UNAUTHENTICATED`, ...). */
  ERROR_CODES: 'sift.error.codes',
  MODEL: 'sift.model.name',
  MODEL_ROWS: 'sift.model.rows',
  BATCH_ID: 'sift.batch.id',
  BATCH_ROWS: 'sift.batch.rows',
  /** True when an idempotency key gave back a batch submitted before. */
  BATCH_REPLAYED: 'sift.batch.replayed',
  CHUNK_INDEX: 'sift.chunk.index',
  CHUNK_ROWS: 'sift.chunk.rows',
  CHUNK_ROWS_CACHED: 'sift.chunk.rows_cached',
  CHUNK_ROWS_FAILED: 'sift.chunk.rows_failed',
  /** `done`, `already-counted`, `skipped`, or `error` (the chunk will run again, or fails its batch). */
  CHUNK_OUTCOME: 'sift.chunk.outcome',
} as const;

/** The span names: low-cardinality, the operation's name aside. */
export const SpanNames = {
  graphql: (operationName: string | null | undefined) => `graphql ${operationName || 'anonymous'}`,
  MODEL_RUN: 'model run',
  BATCH_SUBMIT: 'batch submit',
  BATCH_CHUNK: 'batch chunk',
} as const;

/** Trace context as it travels in a message: W3C `traceparent` (and `tracestate`) headers. */
export type TraceCarrier = Record<string, string>;

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent context; default the active one. */
  parent?: Context;
}

function tracer() {
  // Looked up per span rather than kept: a provider registered (or removed) later is then used.
  return trace.getTracer(TRACER_NAME);
}

/**
 * Marks a span failed by `error`. A Sift error says its code only (its message may quote the
 * client's input); any other error is a fault, recorded with its type and message.
 */
export function failSpan(span: Span, error: unknown): void {
  if (isSiftError(error)) {
    span.setAttribute(SpanAttributes.ERROR_TYPE, error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.code });
    return;
  }
  const fault = error instanceof Error ? error : new Error(String(error));
  span.recordException(fault);
  span.setAttribute(SpanAttributes.ERROR_TYPE, fault.name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: fault.message });
}

/** Marks a span failed with a message of Sift's own choosing (codes, never a client's words). */
export function failSpanWith(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * Runs `work` inside a new span, made active for everything `work` starts (so spans made below it
 * are its children), and ends the span when `work` settles: failed when it throws.
 */
export function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await work(span);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Starts a span the caller ends (an HTTP request's, ended when its response closes). */
export function startSpan(name: string, options: SpanOptions): { span: Span; context: Context } {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** The span active here, if any (a recording one only when tracing is on). */
export function activeSpan(): Span | undefined {
  return trace.getActiveSpan();
}

/** The active context, to run something later in it (see `inContext`). */
export function activeContext(): Context {
  return context.active();
}

/** Runs `work` with `ctx` active. */
export function inContext<T>(ctx: Context, work: () => T): T {
  return context.with(ctx, work);
}

/**
 * The active trace context as message headers, to send along with work another process does;
 * undefined when there is none to send (tracing off, or no span active).
 */
export function traceCarrier(): TraceCarrier | undefined {
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}

/** The context a message's headers carry (see `traceCarrier`), or an empty one: work then starts a trace of its own. */
export function contextFromCarrier(carrier: Readonly<TraceCarrier> | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}

/** The context of an incoming request's `traceparent` header (a caller's trace goes on), else the active one. */
export function contextFromHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Context {
  return propagation.extract(context.active(), headers);
}

/**
 * Wraps something that runs texts through a model in one run: each call is a `model run` span,
 * child of the active span (a request's, or a batch chunk's), with the model and the texts'
 * count, never the texts.
 */
export function tracedModelRun<T>(run: (model: string, texts: string[]) => Promise<T>): (model: string, texts: string[]) => Promise<T> {
  return (model, texts) => inSpan(SpanNames.MODEL_RUN, { attributes: { [SpanAttributes.MODEL]: model, [SpanAttributes.MODEL_ROWS]: texts.length } }, () => run(model, texts));
}
