/** Prometheus stores a histogram family `x` as these series. */
const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

/**
 * The names of Sift's and prom-client's metrics (`sift_*`, `process_*`, `nodejs_*`) a PromQL
 * expression reads. String literals (label values such as `"sift-api"`) are left out.
 */
export function metricNamesIn(expr: string): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  return [...new Set(code.match(/\b(?:sift|process|nodejs)_[A-Za-z0-9_]*[A-Za-z0-9]/g) ?? [])];
}

/**
 * The family a series name belongs to, of `families`: the name itself, or for a histogram's
 * `_bucket`, `_sum` or `_count` series the name without it. Undefined when none is listed.
 */
export function familyOf(name: string, families: readonly string[]): string | undefined {
  if (families.includes(name)) return name;
  const base = name.replace(HISTOGRAM_SERIES, '');
  return base !== name && families.includes(base) ? base : undefined;
}
