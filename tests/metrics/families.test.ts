import { readFileSync } from 'node:fs';
import path from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { KNOWN_OPERATIONS, operationLabel } from '../../src/http/graphql-metrics-plugin';
import { HTTP_ROUTE_LABELS, routeLabel } from '../../src/http/http-metrics-middleware';
import { METRIC_FAMILIES } from '../../src/metrics/families';
import { SiftMetrics } from '../../src/metrics/sift-metrics';
import { PROJECT_ROOT } from '../support/paths';
import { labelValues, parsePrometheusText, sampleSum } from '../support/prometheus';

/** The names of prom-client's default process and Node.js metrics, as a registry of their own has them. */
function defaultFamilies(): string[] {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry.getMetricsAsArray().map((metric) => metric.name);
}

describe('the metrics registry', () => {
  it("exports exactly the families of src/metrics/families.ts plus prom-client's defaults, the ones listed there among them", async () => {
    const metrics = new SiftMetrics(true);
    const exported = metrics.registry!.getMetricsAsArray().map((metric) => metric.name);
    const defaults = defaultFamilies();
    // The families Sift declares itself are the list's sift_* names, no more, no fewer.
    expect(exported.filter((name) => !defaults.includes(name)).sort()).toEqual(METRIC_FAMILIES.filter((name) => name.startsWith('sift_')).sort());
    // Every other name the list (and so the dashboard) reads is a default the registry exports.
    const listedDefaults = METRIC_FAMILIES.filter((name) => !name.startsWith('sift_'));
    expect(listedDefaults.length).toBeGreaterThan(0);
    expect(listedDefaults.filter((name) => !defaults.includes(name) || !exported.includes(name))).toEqual([]);
    // And the exposition says the same, parsed as Prometheus reads it.
    const exposition = parsePrometheusText(await metrics.registry!.metrics());
    expect(METRIC_FAMILIES.filter((name) => !exposition.has(name))).toEqual([]);
    expect(exposition.get('sift_model_run_rows')?.type).toBe('histogram');
    expect(exposition.get('sift_graphql_operation_duration_seconds')?.type).toBe('histogram');
    expect(exposition.get('sift_model_run_duration_seconds')?.type).toBe('histogram');
    expect(exposition.get('sift_queue_jobs')?.type).toBe('gauge');
    expect(exposition.get('sift_cache_lookups_total')?.type).toBe('counter');
  });

  it('counts batches by status from 0, and rows by outcome apart (succeeded + cached + failed = rows)', async () => {
    const metrics = new SiftMetrics(true);
    let exposition = parsePrometheusText(await metrics.registry!.metrics());
    expect(labelValues(exposition, 'sift_batches_total', 'status')).toEqual(['cancelled', 'completed', 'failed', 'submitted']);
    expect(sampleSum(exposition, 'sift_batches_total')).toBe(0);
    metrics.batches.chunkCounted('m', { succeeded: 7, cached: 3, failed: 2 });
    exposition = parsePrometheusText(await metrics.registry!.metrics());
    expect(sampleSum(exposition, 'sift_batch_rows_total', { model: 'm', outcome: 'succeeded' })).toBe(4);
    expect(sampleSum(exposition, 'sift_batch_rows_total', { model: 'm', outcome: 'cached' })).toBe(3);
    expect(sampleSum(exposition, 'sift_batch_rows_total', { model: 'm', outcome: 'failed' })).toBe(2);
    expect(sampleSum(exposition, 'sift_batch_rows_total')).toBe(9);
  });

  it('lets go of each socket and subscription once, however they end', async () => {
    const metrics = new SiftMetrics(true);
    const gauges = async () => {
      const exposition = parsePrometheusText(await metrics.registry!.metrics());
      return [sampleSum(exposition, 'sift_websocket_connections_active'), sampleSum(exposition, 'sift_subscriptions_active')];
    };
    const [a, b] = [{}, {}];
    metrics.sockets.connected(a);
    metrics.sockets.connected(a);
    metrics.sockets.connected(b);
    metrics.sockets.subscribed(a, '1');
    metrics.sockets.subscribed(a, '2');
    metrics.sockets.subscribed(b, '1');
    expect(await gauges()).toEqual([2, 3]);
    metrics.sockets.ended(a, '1');
    metrics.sockets.ended(a, '1');
    metrics.sockets.ended(a, 'never-subscribed');
    expect(await gauges()).toEqual([2, 2]);
    // A socket that closes with a subscription still running lets go of both; what ends after counts nothing.
    metrics.sockets.closed(a);
    metrics.sockets.closed(a);
    metrics.sockets.ended(a, '2');
    metrics.sockets.subscribed(a, '3');
    expect(await gauges()).toEqual([1, 1]);
    metrics.sockets.closed(b);
    expect(await gauges()).toEqual([0, 0]);
  });

  it('with SIFT_METRICS=off has no registry, and its recorders do nothing', () => {
    const metrics = new SiftMetrics(false);
    expect(metrics.registry).toBeNull();
    expect(metrics.http.enabled).toBe(false);
    metrics.cache.answered('m', 1, 1);
    metrics.models.ran('m', 3, 0.01);
    const run = async () => 1;
    expect(metrics.models.timed(run)).toBe(run);
  });
});

describe('bounded labels', () => {
  it("names Sift's own operations (src/client/operations.graphql) and nothing else", () => {
    const source = readFileSync(path.join(PROJECT_ROOT, 'src/client/operations.graphql'), 'utf8');
    const declared = [...source.matchAll(/^(?:query|mutation|subscription)\s+(\w+)/gm)].map((m) => m[1]);
    expect(declared.length).toBeGreaterThan(5);
    expect([...KNOWN_OPERATIONS].sort()).toEqual([...declared].sort());
    expect(operationLabel('Predict')).toBe('Predict');
    expect(operationLabel('Predict2')).toBe('other');
    expect(operationLabel(null)).toBe('other');
  });

  it('labels a path by its route pattern, and any other path other', () => {
    expect(routeLabel('/graphql')).toBe('/graphql');
    expect(routeLabel('/batches')).toBe('/batches');
    expect(routeLabel('/batches/4f1c2a')).toBe('/batches/:id');
    expect(routeLabel('/batches/4f1c2a/results.csv')).toBe('/batches/:id/results.:format');
    expect(routeLabel('/batches/4f1c2a/results.jsonl')).toBe('/batches/:id/results.:format');
    expect(routeLabel('/assets/index-B7sPV1-Q.js')).toBe('/assets/:file');
    expect(routeLabel('/')).toBe('/');
    for (const path of ['/batches/a/b', '/graphql/x', '/metrics/reset', '/no/such/route', '/healthz2', '/assets/a/b']) expect([path, routeLabel(path)]).toEqual([path, 'other']);
    expect(HTTP_ROUTE_LABELS).toContain('other');
  });
});

describe('the test parser of the Prometheus text format', () => {
  it('reads families, labels with escapes, and histograms', () => {
    const exposition = parsePrometheusText(
      [
        '# HELP a_total Things, with a \\\\ and a\\nnewline.',
        '# TYPE a_total counter',
        'a_total{x="1",y="q\\"uote"} 3',
        'a_total{x="2",y=""} 4.5 1700000000000',
        '# TYPE h histogram',
        'h_bucket{le="0.5"} 1',
        'h_bucket{le="+Inf"} 2',
        'h_sum 0.9',
        'h_count 2',
        '',
      ].join('\n'),
    );
    expect(exposition.get('a_total')).toEqual({ name: 'a_total', type: 'counter', help: 'Things, with a \\ and a\nnewline.', samples: [{ name: 'a_total', labels: { x: '1', y: 'q"uote' }, value: 3 }, { name: 'a_total', labels: { x: '2', y: '' }, value: 4.5 }] });
    expect(sampleSum(exposition, 'a_total')).toBe(7.5);
    expect(sampleSum(exposition, 'h_count')).toBe(2);
  });

  it.each([
    ['a sample with no # TYPE', 'b 1\n'],
    ['a value that is not a number', '# TYPE b gauge\nb one\n'],
    ['an unclosed label value', '# TYPE b gauge\nb{x="1} 1\n'],
    ['a family split in two', '# TYPE b gauge\nb 1\n# TYPE c gauge\nc 1\nb 2\n'],
    ['a histogram whose +Inf bucket is not its count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'],
    ['buckets that go down', '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
});
