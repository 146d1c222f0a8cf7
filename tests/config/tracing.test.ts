import { loadConfig } from '../../src/config/config';
import { configFailure } from '../support/config';
import { ErrorCodes } from '../../src/errors';

const tracing = (env: Record<string, string>) => loadConfig(env, '/srv/sift').tracing;

describe('the OpenTelemetry settings', () => {
  it('leave tracing off without an OTLP endpoint, whatever else is set, and with OTEL_SDK_DISABLED=true', () => {
    expect(tracing({})).toBeNull();
    expect(tracing({ OTEL_SERVICE_NAME: 'sift', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_TRACES_SAMPLER: 'nonsense' })).toBeNull();
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'TRUE' })).toBeNull();
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'false' })).not.toBeNull();
  });

  it('add /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT, take OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, and default the rest', () => {
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      headers: {},
      serviceName: null,
      resourceAttributes: {},
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
    });
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/base/' })?.url).toBe('https://otlp.example.com/base/v1/traces');
    expect(tracing({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/custom' })?.url).toBe('http://tempo:4318/custom');
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/v1/traces' })?.url).toBe('http://tempo:4318/v1/traces');
  });

  it('read the protocol, service name, headers, resource attributes and sampler by their standard names', () => {
    const settings = tracing({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'sift-eu',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=a%20b, x-tenant=one',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=two',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,service.namespace=labelling',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect(settings).toEqual({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/json',
      headers: { 'x-api-key': 'a b', 'x-tenant': 'two' },
      serviceName: 'sift-eu',
      resourceAttributes: { 'deployment.environment': 'prod', 'service.namespace': 'labelling' },
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' }, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'not gRPC'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER_ARG: '2' }, 'OTEL_TRACES_SAMPLER_ARG'],
    [{ OTEL_SDK_DISABLED: 'maybe' }, 'OTEL_SDK_DISABLED'],
  ])('refuse a bad value: %j', (env, named) => {
    const error = configFailure(env);
    expect(error.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(error.message).toContain(named);
  });

  it('name a bad header entry by its position, never quoting it (headers may hold a key)', () => {
    const error = configFailure({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20ok,secret-token-without-equals' });
    expect(error.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(error.message).toContain('OTEL_EXPORTER_OTLP_HEADERS is not valid: entry 2');
    expect(error.message).not.toContain('secret-token');
    expect(configFailure({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'x=%E0%A4%A' }).message).not.toContain('%E0');
  });
});
