import { readFileSync } from 'node:fs';
import path from 'node:path';
import { METRIC_FAMILIES } from '../../src/metrics/families';
import { PROJECT_ROOT } from '../support/paths';
import { readYaml } from './compose-files';
import { familyOf, metricNamesIn } from './promql';

interface Target {
  expr?: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}

const dashboard = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'deploy/grafana/dashboards/sift.json'), 'utf8')) as { uid: string; title: string; panels: Panel[] };
/** Every panel, those inside collapsed rows too. */
const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const queries = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr ?? '' })));

describe('metricNamesIn and familyOf', () => {
  it("find the metric names a query reads, not label values, and a histogram's family from its series", () => {
    expect(metricNamesIn('sum by (le) (rate(sift_a_seconds_bucket{job="sift-api",x="sift_not_a_metric"}[$__rate_interval])) / process_b')).toEqual(['sift_a_seconds_bucket', 'process_b']);
    expect(familyOf('sift_a_seconds_bucket', ['sift_a_seconds'])).toBe('sift_a_seconds');
    expect(familyOf('sift_rows_total', ['sift_rows_total'])).toBe('sift_rows_total');
    expect(familyOf('sift_rows_total_sum', ['sift_rows'])).toBeUndefined();
    expect(familyOf('sift_b_count', ['sift_a'])).toBeUndefined();
  });
});

describe('the Sift Grafana dashboard (deploy/grafana/dashboards/sift.json)', () => {
  it('queries only metric families the code exports (src/metrics/families.ts)', () => {
    const unknown = queries.flatMap(({ panel, expr }) => metricNamesIn(expr).filter((name) => familyOf(name, METRIC_FAMILIES) === undefined).map((name) => `${name} (${panel})`));
    expect(unknown).toEqual([]);
    // Something was read: an empty or renamed dashboard must not pass for want of queries.
    expect(queries.flatMap(({ expr }) => metricNamesIn(expr)).length).toBeGreaterThan(20);
  });

  it('reads every query from the provisioned Prometheus data source', () => {
    const datasource = readYaml<{ datasources: { uid: string; type: string }[] }>('deploy/grafana/provisioning/datasources/prometheus.yml').datasources[0];
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect([panel.title, panel.datasource]).toEqual([panel.title, { type: datasource.type, uid: datasource.uid }]);
      for (const target of panel.targets ?? []) expect([panel.title, target.datasource]).toEqual([panel.title, { type: datasource.type, uid: datasource.uid }]);
      expect([panel.title, (panel.targets ?? []).length > 0]).toEqual([panel.title, true]);
    }
  });

  it('has distinct panel ids and a fixed uid', () => {
    expect(dashboard.uid).toBe('sift');
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
  });

  it('shows request rate and latency, cache hit ratio, model rows/s, queue depth, batch rows/s, workers up, API memory and event-loop lag', () => {
    const reads = (metric: RegExp | string) => queries.some(({ expr }) => (typeof metric === 'string' ? expr.includes(metric) : metric.test(expr)));
    expect(reads('rate(sift_http_requests_total[')).toBe(true);
    expect(reads(/histogram_quantile\(0\.5, .*sift_graphql_operation_duration_seconds_bucket/)).toBe(true);
    expect(reads(/histogram_quantile\(0\.99, .*sift_graphql_operation_duration_seconds_bucket/)).toBe(true);
    expect(reads(/sift_cache_lookups_total\{result="hit"\}.* \/ .*sift_cache_lookups_total\[/)).toBe(true);
    expect(reads('rate(sift_model_run_rows_sum[')).toBe(true);
    expect(reads('max by (state) (sift_queue_jobs)')).toBe(true);
    expect(reads('sum by (outcome) (rate(sift_batch_rows_total[')).toBe(true);
    expect(reads('up{job="sift-worker"}')).toBe(true);
    expect(reads('process_resident_memory_bytes{job="sift-api"}')).toBe(true);
    expect(reads(/nodejs_eventloop_lag_\w*seconds\{job="sift-api"\}/)).toBe(true);
  });

  it('names the jobs Prometheus scrapes', () => {
    const jobs = readYaml<{ scrape_configs: { job_name: string }[] }>('deploy/prometheus/prometheus.yml').scrape_configs.map((job) => job.job_name);
    const named = new Set(queries.flatMap(({ expr }) => [...expr.matchAll(/job="([^"]+)"/g)].map((m) => m[1])));
    expect([...named].filter((job) => !jobs.includes(job))).toEqual([]);
  });
});
