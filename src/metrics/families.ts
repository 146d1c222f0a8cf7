/**
 * Every metric family Sift's processes export to Prometheus, by name: the contract between the
 * code and what reads it (deploy/grafana/dashboards/sift.json, whose queries
 * tests/deploy/dashboard.test.ts checks against this list). The metrics tests check the registry
 * against it, so a family renamed or dropped in the code fails there, and a dashboard query on a
 * name not listed here fails the dashboard test.
 *
 * Histograms are listed by family name; Prometheus stores them as `<name>_bucket`, `_sum` and
 * `_count`. The last entries are prom-client's default process and Node.js metrics that the
 * dashboard uses (prom-client exports more).
 */
export const METRIC_FAMILIES: readonly string[] = Object.freeze([
  'sift_http_requests_total',
  'sift_graphql_operations_total',
  'sift_graphql_operation_duration_seconds',
  'sift_cache_lookups_total',
  'sift_model_runs_total',
  'sift_model_run_rows',
  'sift_model_run_duration_seconds',
  'sift_batches_total',
  'sift_batch_rows_total',
  'sift_queue_jobs',
  'sift_schedule_chunks',
  'sift_subscriptions_active',
  'sift_websocket_connections_active',
  'sift_uploads_in_progress',
  'sift_uploads_refused_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_p99_seconds',
]);
