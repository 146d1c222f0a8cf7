import { hostname } from 'node:os';
import { context, diag, DiagLogLevel, propagation, trace, type DiagLogger } from '@opentelemetry/api';
import type { Logger } from '../logger';
import { requestContext } from '../logging/request-context';
import type { TracingSettings } from './tracing-settings';
import { timeLimit } from '../time-limit';

/** The role a traced process plays: its default service name is `sift-<role>`. */
export type TracedRole = 'api' | 'worker';

/** This process's tracing: whether spans are recorded and sent, and how to stop (flushing what is left). */
export interface RunningTracing {
  readonly enabled: boolean;
  /** Sends the spans not sent yet (waiting at most a few seconds), then stops recording. */
  close(): Promise<void>;
}

/** Tracing off: nothing loaded, nothing to close. */
const OFF: RunningTracing = Object.freeze({ enabled: false, close: async () => undefined });

/** How long a stopping process waits for its last spans to reach the collector. */
const FLUSH_ON_CLOSE_MS = 5000;

/** An export failure is logged once, then at most this often (a collector that is down fails every export). */
const EXPORT_WARNING_EVERY_MS = 60_000;

/** Only one tracer provider per process: the OpenTelemetry API has one global slot. */
let running: RunningTracing | null = null;

/** The endpoint as a log line may show it: no credentials, no query. */
function shownUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/**
 * A warning said at most once a minute per kind (a collector that is down fails every export),
 * outside any request's context: the export that failed was not the request's doing.
 */
function throttledWarnings(logger: Logger): (kind: string, message: string) => void {
  const lastSaid = new Map<string, number>();
  return (kind, message) => {
    const now = Date.now();
    if (now - (lastSaid.get(kind) ?? -Infinity) < EXPORT_WARNING_EVERY_MS) return;
    lastSaid.set(kind, now);
    requestContext.exit(() => logger.warn(`${message} (said at most once a minute)`));
  };
}

/** The OpenTelemetry SDK's own complaints at warn and error, as Sift warnings; its chatter is dropped. */
function diagnostics(warn: (kind: string, message: string) => void): DiagLogger {
  const say = (message: string, ...args: unknown[]) => {
    const detail = args.map((arg) => (arg instanceof Error ? arg.message : typeof arg === 'string' ? arg : '')).filter(Boolean).join(' ');
    warn(message.slice(0, 60), `OpenTelemetry: ${message}${detail ? ` ${detail}` : ''}`);
  };
  const quiet = () => undefined;
  return { error: say, warn: say, info: quiet, debug: quiet, verbose: quiet };
}

/**
 * Starts this process's tracing from `settings` (null: off). With tracing off nothing of the
 * OpenTelemetry SDK is loaded, and Sift's spans stay the API's no-ops. With it on, the SDK is
 * loaded here, and only here: a tracer provider sending spans in batches over OTLP/HTTP
 * (protobuf or JSON) to `settings.url`, the W3C trace-context propagator, and an
 * AsyncLocalStorage context manager so a span started in a request is the parent of what the
 * request does. A second start in the same process (tests) shares the first's tracing.
 */
export function startTracing(settings: Readonly<TracingSettings> | null, role: TracedRole, logger: Logger): RunningTracing {
  if (settings === null) return OFF;
  if (running) return { enabled: true, close: async () => undefined };
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when tracing is on */
  const sdk = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
  const { defaultResource, resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator, setGlobalErrorHandler, loggingErrorHandler } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { OTLPTraceExporter } =
    settings.protocol === 'http/json'
      ? (require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http'))
      : (require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto'));
  /* eslint-enable @typescript-eslint/no-require-imports */

  const serviceName = settings.serviceName ?? `sift-${role}`;
  const ratioSampler = () => new sdk.TraceIdRatioBasedSampler(settings.samplerRatio);
  const samplers = {
    always_on: () => new sdk.AlwaysOnSampler(),
    always_off: () => new sdk.AlwaysOffSampler(),
    traceidratio: ratioSampler,
    parentbased_always_on: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    parentbased_always_off: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }),
    parentbased_traceidratio: () => new sdk.ParentBasedSampler({ root: ratioSampler() }),
  } satisfies Record<TracingSettings['sampler'], () => unknown>;
  const provider = new sdk.TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        ...settings.resourceAttributes,
        'service.name': serviceName,
        'host.name': hostname(),
        'process.pid': process.pid,
        'sift.role': role,
      }),
    ),
    sampler: samplers[settings.sampler](),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: settings.url, headers: { ...settings.headers } }) })],
  });

  const warn = throttledWarnings(logger);
  diag.setLogger(diagnostics(warn), DiagLogLevel.WARN);
  // What the span processor reports: an export that failed (the collector down, refusing, slow).
  setGlobalErrorHandler((error) => warn('export', `tracing: spans could not be sent to ${shownUrl(settings.url)}: ${error instanceof Error ? error.message : String(error)}; spans are lost meanwhile, requests are not`));
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  logger.info(`tracing: spans of service ${serviceName} go to ${shownUrl(settings.url)} (OTLP ${settings.protocol}, sampler ${settings.sampler})`);

  let closing: Promise<void> | undefined;
  const tracing: RunningTracing = {
    enabled: true,
    close: () =>
      (closing ??= (async () => {
        const flushed = provider.shutdown().then(
          () => 'sent' as const,
          (error: Error) => error,
        );
        const outcome = await timeLimit(flushed, FLUSH_ON_CLOSE_MS, () => 'late' as const);
        if (outcome === 'late') logger.warn(`tracing: the last spans did not reach ${shownUrl(settings.url)} within ${FLUSH_ON_CLOSE_MS / 1000} s; stopping without them`);
        else if (outcome instanceof Error) logger.warn(`tracing: the last spans could not be sent: ${outcome.message}`);
        // Free the API's global slots, so this process could start tracing again.
        trace.disable();
        context.disable();
        propagation.disable();
        diag.disable();
        setGlobalErrorHandler(loggingErrorHandler());
        running = null;
      })()),
  };
  running = tracing;
  return tracing;
}
