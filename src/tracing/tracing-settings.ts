/**
 * What Sift's tracing is told by the standard OpenTelemetry variables (read once, by
 * config/config.ts). Null in the config when no OTLP endpoint is set: then no SDK is loaded and
 * every span is the OpenTelemetry API's no-op.
 */

/** The OTLP/HTTP encodings Sift can send (`OTEL_EXPORTER_OTLP_PROTOCOL`); gRPC is not one. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** The standard samplers (`OTEL_TRACES_SAMPLER`). */
export const TRACE_SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
export type TraceSamplerName = (typeof TRACE_SAMPLERS)[number];

export interface TracingSettings {
  /**
   * Where spans are sent: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else
   * `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` added (as the OTLP specification says).
   */
  url: string;
  /** `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL`. Default `http/protobuf`. */
  protocol: OtlpProtocol;
  /**
   * `OTEL_EXPORTER_OTLP_HEADERS`, then `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (which wins for a header
   * both name): sent with every export, e.g. a collector's API key.
   */
  headers: Readonly<Record<string, string>>;
  /** `OTEL_SERVICE_NAME`; null: `sift-api` or `sift-worker`, by the process's role. */
  serviceName: string | null;
  /** `OTEL_RESOURCE_ATTRIBUTES`: more attributes of the process's resource (`deployment.environment=prod`). */
  resourceAttributes: Readonly<Record<string, string>>;
  /** `OTEL_TRACES_SAMPLER`. Default `parentbased_always_on`: every trace, and a caller's decision kept. */
  sampler: TraceSamplerName;
  /** `OTEL_TRACES_SAMPLER_ARG`: the ratio of the `traceidratio` samplers, 0 to 1. Default 1. */
  samplerRatio: number;
}
