/**
 * The bench's reading of a `/metrics` endpoint (the Prometheus text format prom-client writes): the
 * sum of one series over its labels. prom-client writes no timestamps, so a sample's value is the
 * last field of its line.
 */
export function seriesSum(exposition: string, series: string): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(series) || (line[series.length] !== '{' && line[series.length] !== ' ')) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** GET `<url>/metrics` as text; fails the run on anything but 200. */
export async function readMetrics(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  const body = await response.text();
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}: ${body}`);
  return body;
}
