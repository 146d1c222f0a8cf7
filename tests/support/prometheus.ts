/**
 * A small, strict reader of the Prometheus text exposition format (version 0.0.4), for tests that
 * scrape `/metrics`: every line must be a comment, `# HELP`, `# TYPE` or a sample, every sample
 * must belong to a family declared by `# TYPE` before it, each family's lines must come together,
 * and a histogram's buckets must be cumulative with `+Inf` equal to `_count`. Anything else
 * throws, naming the line, so a malformed exposition fails the test that reads it.
 */

export interface Sample {
  /** The series name: the family's, or a histogram's `_bucket`, `_sum` or `_count`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

export type Exposition = Map<string, Family>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** As Prometheus reads a value (Go's strconv.ParseFloat): NaN and [+-]Inf(inity) in any case (prom-client writes `Nan`). */
function parseValue(raw: string, where: string): number {
  if (/^[+]?inf(inity)?$/i.test(raw)) return Infinity;
  if (/^-inf(inity)?$/i.test(raw)) return -Infinity;
  if (/^nan$/i.test(raw)) return NaN;
  const value = Number(raw);
  if (raw === '' || Number.isNaN(value)) throw new Error(`${where}: ${JSON.stringify(raw)} is not a sample value`);
  return value;
}

function unescape(value: string, where: string, inHelp: boolean): string {
  return value.replace(/\\(.)/g, (_, c: string) => {
    if (c === 'n') return '\n';
    if (c === '\\') return '\\';
    if (c === '"' && !inHelp) return '"';
    throw new Error(`${where}: unknown escape \\${c}`);
  });
}

/** `{a="1",b="x\"y"}` at the start of `rest`: the labels and what follows them. */
function parseLabels(rest: string, where: string): { labels: Record<string, string>; after: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (rest[i] === ' ') i++;
    if (rest[i] === '}') return { labels, after: rest.slice(i + 1) };
    const name = LABEL_NAME.exec(rest.slice(i))?.[0];
    if (!name) throw new Error(`${where}: a label name was expected at ${JSON.stringify(rest.slice(i))}`);
    i += name.length;
    if (rest.slice(i, i + 2) !== '="') throw new Error(`${where}: label ${name} has no ="value"`);
    i += 2;
    let raw = '';
    while (rest[i] !== '"') {
      if (i >= rest.length) throw new Error(`${where}: label ${name}'s value is not closed`);
      if (rest[i] === '\\') raw += rest[i++];
      raw += rest[i++];
    }
    i++;
    if (name in labels) throw new Error(`${where}: label ${name} given twice`);
    labels[name] = unescape(raw, where, false);
    while (rest[i] === ' ') i++;
    if (rest[i] === ',') i++;
    else if (rest[i] !== '}') throw new Error(`${where}: "," or "}" expected after label ${name}`);
  }
}

/** The family a series belongs to: its own name, or a histogram's or summary's without the suffix. */
function familyOf(series: string, families: Exposition): Family | undefined {
  const own = families.get(series);
  if (own) return own;
  const suffix = /_(bucket|sum|count)$/.exec(series);
  if (!suffix) return undefined;
  const family = families.get(series.slice(0, -suffix[0].length));
  if (family?.type === 'histogram') return family;
  if (family?.type === 'summary' && suffix[1] !== 'bucket') return family;
  return undefined;
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: { le: number; value: number }[]; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) throw new Error(`histogram ${family.name}: a bucket without le`);
      group.buckets.push({ le: parseValue(le, `histogram ${family.name}`), value: sample.value });
    } else if (sample.name === `${family.name}_count`) group.count = sample.value;
  }
  for (const [key, { buckets, count }] of groups) {
    const sorted = [...buckets].sort((a, b) => a.le - b.le);
    sorted.forEach((bucket, i) => {
      if (i > 0 && bucket.value < sorted[i - 1].value) throw new Error(`histogram ${family.name} ${key}: bucket le=${bucket.le} is below the one before it`);
    });
    const inf = sorted.at(-1);
    if (!inf || inf.le !== Infinity) throw new Error(`histogram ${family.name} ${key}: no le="+Inf" bucket`);
    if (inf.value !== count) throw new Error(`histogram ${family.name} ${key}: +Inf bucket ${inf.value} differs from _count ${count}`);
  }
}

/** Reads an exposition; throws on anything the format does not allow. */
export function parsePrometheusText(text: string): Exposition {
  const families: Exposition = new Map();
  const closed = new Set<string>();
  let current: Family | undefined;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, index) => {
    const where = `line ${index + 1} (${JSON.stringify(line.slice(0, 80))})`;
    if (line.trim() === '') return;
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
    if (meta) {
      const [, kind, name, rest = ''] = meta;
      if (!NAME.test(name) || NAME.exec(name)![0] !== name) throw new Error(`${where}: ${name} is not a metric name`);
      let family = families.get(name);
      if (!family) {
        if (current) closed.add(current.name);
        if (closed.has(name)) throw new Error(`${where}: family ${name} comes back after other families`);
        family = { name, type: 'untyped', help: '', samples: [] };
        families.set(name, family);
      } else if (family !== current) throw new Error(`${where}: family ${name}'s lines are not together`);
      if (family.samples.length > 0) throw new Error(`${where}: # ${kind} after ${name}'s samples`);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${rest}`);
        family.type = rest as Family['type'];
      } else family.help = unescape(rest, where, true);
      current = family;
      return;
    }
    if (line.startsWith('#')) return;
    const name = NAME.exec(line)?.[0];
    if (!name) throw new Error(`${where}: not a sample`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, after: rest = '' } = parseLabels(rest, where));
    const parts = rest.trim().split(/\s+/);
    if (!/^\s/.test(rest) || parts.length < 1 || parts.length > 2) throw new Error(`${where}: expected a value (and a timestamp) after the series`);
    const value = parseValue(parts[0], where);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: ${parts[1]} is not a timestamp`);
    const family = familyOf(name, families);
    if (!family) throw new Error(`${where}: no # TYPE declared ${name}'s family before it`);
    if (family !== current) throw new Error(`${where}: family ${family.name}'s lines are not together`);
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/**
 * The sum of the samples of series `name` whose labels include `labels` (0 when none: a counter
 * not incremented yet has no series).
 */
export function sampleSum(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const family = familyOf(name, exposition);
  if (!family) throw new Error(`no family holds ${name}; the exposition has ${[...exposition.keys()].join(', ')}`);
  return family.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
}

/** The values one label takes among the samples of series `name`. */
export function labelValues(exposition: Exposition, name: string, label: string): string[] {
  const family = familyOf(name, exposition);
  return [...new Set((family?.samples ?? []).filter((s) => s.name === name && label in s.labels).map((s) => s.labels[label]))].sort();
}

/** GET `url` (a `/metrics` endpoint), checks the Prometheus Content-Type and reads the body. */
export async function scrape(url: string, headers: Record<string, string> = {}): Promise<Exposition> {
  const response = await fetch(url, { headers });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}: ${body}`);
  const type = response.headers.get('content-type') ?? '';
  if (!/^text\/plain; version=0\.0\.4; charset=utf-8$/i.test(type)) throw new Error(`GET ${url}: Content-Type ${type} is not the Prometheus text format 0.0.4`);
  return parsePrometheusText(body);
}

/** A process's model runs and the texts they ran since it started, from its `/metrics` (`sift_model_run_rows`). */
export async function modelRunCounts(baseUrl: string, headers: Record<string, string> = {}): Promise<{ runs: number; rows: number }> {
  const exposition = await scrape(`${baseUrl}/metrics`, headers);
  return { runs: sampleSum(exposition, 'sift_model_run_rows_count'), rows: sampleSum(exposition, 'sift_model_run_rows_sum') };
}
