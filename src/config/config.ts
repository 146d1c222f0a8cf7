import { availableParallelism } from 'node:os';
import path from 'node:path';
import { ErrorCodes, setupError } from '../errors';
import { isLogLevel, type LogFormat, type LogLevel } from '../logging/log-settings';
import type { RateLimitSettings } from '../limits/rate-limits';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../models/model-runner';
import { OTLP_PROTOCOLS, TRACE_SAMPLERS, type TracingSettings } from '../tracing/tracing-settings';

/** Sift's settings, read once from the environment at start-up and frozen. */
export interface SiftConfig {
  /** `PORT`: HTTP and WebSocket port of the API. Default 4000. */
  port: number;
  /**
   * `HOST`: interface the API listens on. Default `127.0.0.1`: this machine only. Another
   * address (`0.0.0.0` for every interface) needs `SIFT_AUTH` set (see `auth`).
   */
  host: string;
  /**
   * `SIFT_AUTH`: `keys` (every request needs an API key) or `off`. Unset means `off` on a
   * loopback HOST, and a refusal to start on any other (see startApi).
   */
  auth: 'keys' | 'off' | null;
  /** `REDIS_URL`: the shared Redis. Default `redis://127.0.0.1:6379`. */
  redisUrl: string;
  /**
   * `SIFT_CACHE_REDIS_URL`: a Redis of its own for the prediction cache, which may evict
   * (`maxmemory-policy allkeys-lru`) while the one at `REDIS_URL`, holding the queue and batches,
   * must not. Default: the same as `REDIS_URL`.
   */
  cacheRedisUrl: string;
  /** `SIFT_KEY_PREFIX`: prefix of every Redis key Sift writes. Default `sift:`. */
  keyPrefix: string;
  /** `SIFT_MODELS_DIR`: folder of model folders. Default `./models`. */
  modelsDir: string;
  /** `SIFT_DEFAULT_MODEL`: model used when a request names none. Default `sentiment`. */
  defaultModel: string;
  /** `SIFT_CACHE_TTL_SECONDS`: how long a cached prediction is kept at least (at most half as long again: cache-windows.ts). Default 7 days. */
  cacheTtlSeconds: number;
  /**
   * `SIFT_MAX_TEXTS_PER_REQUEST`: most texts one request may send to the models, summed over its
   * `predict` (1 each) and `predictMany` fields (see graphql/model-work.ts). Default 1000.
   */
  maxTextsPerRequest: number;
  /**
   * `SIFT_MAX_RESULT_ROWS_PER_REQUEST`: most stored result rows one GraphQL request may read:
   * each `results` page's `limit`, times the `first` of the `batches` list above it, summed.
   */
  maxResultRowsPerRequest: number;
  /**
   * `SIFT_MAX_ALIASES`: most aliases one GraphQL operation may have, fragments expanded. Sift's own
   * clients use none; each alias is one more copy of a field's work. Default 30.
   */
  maxAliases: number;
  /**
   * `SIFT_MAX_QUERY_DEPTH`: most nested fields in one operation (fragments not counted as a level;
   * `__schema` introspection is left to graphql-js's own introspection depth rule). Sift's deepest
   * operation is 5 and its types allow 7. Default 12.
   */
  maxQueryDepth: number;
  /**
   * `SIFT_MAX_QUERY_TOKENS`: most tokens (names, punctuation, values) one GraphQL document may
   * have; counted while parsing, which stops at the limit. A literal list counts one a value, so a
   * `predictMany` of 1,000 literal texts takes about 1,020; variables do not count. Default 5000.
   */
  maxQueryTokens: number;
  /** `SIFT_MAX_DIRECTIVES`: most directives (`@skip`, `@include`) one operation may use. Default 20. */
  maxDirectives: number;
  /**
   * `SIFT_INTROSPECTION`: `on` or `off`; off also hides graphql-js's "Did you mean …?" suggestions.
   * Unset means on with NODE_ENV=development or a loopback HOST, off otherwise (see graphql/query-limits.ts).
   */
  introspection: 'on' | 'off' | null;
  /**
   * `SIFT_CORS_ORIGINS`: web origins (`https://app.example.com`, comma-separated) whose pages may
   * read the API's answers (CORS) and open its WebSocket, besides the page this server serves
   * itself. Default none: same origin only. Requests that carry no `Origin` (curl, the CLI, the
   * SDK in Node) are not browsers' and are not affected.
   */
  corsOrigins: readonly string[];
  /**
   * `SIFT_MAX_OPERATIONS_PER_SOCKET`: most operations (subscriptions, queries) one WebSocket may
   * have running at once; one more is refused with TOO_MANY_OPERATIONS, the others go on. The web
   * page and the CLI use one or two. Default 100.
   */
  maxOperationsPerSocket: number;
  /**
   * `SIFT_CACHED_PREDICTION`: `on` or `off`. The prediction cache is shared by every client, so
   * `cachedPrediction` tells anyone whether a text was labelled before; `off` refuses that query
   * (CACHED_PREDICTION_OFF). Default on.
   */
  cachedPrediction: boolean;
  /**
   * `SIFT_INFERENCE_THREADS`: worker threads running the models in the API. Default: one less than
   * the cores, at least 1, so the thread serving requests keeps a core of its own.
   */
  inferenceThreads: number;
  /**
   * `SIFT_WORKER_INFERENCE_THREADS`: threads running the models in each batch worker. Default 0:
   * on the worker's own thread, which serves no requests; the worker process is the unit of scale.
   * Set 1 for a model whose single run takes seconds (a large transformer), so it never delays the
   * worker's heartbeat (`SIFT_STALL_INTERVAL_MS`).
   */
  workerInferenceThreads: number;
  /**
   * `SIFT_EXECUTION_PROVIDERS`: ONNX Runtime execution providers, in order of preference, comma
   * separated. Default `cpu`; `cuda,cpu` on a GPU machine with onnxruntime-node's CUDA build.
   */
  executionProviders: readonly ExecutionProvider[];
  /** `SIFT_MAX_RUN_SIZE` (formerly `SIFT_MAX_BATCH_SIZE`, still read): most texts one model run takes. Default 256. */
  maxRunSize: number;
  /**
   * `SIFT_WORKER_MAX_RUN_SIZE`: most texts one model run takes in a batch worker. Default (null):
   * 2,048 for a hashed n-gram model, `maxRunSize` for any other (see models/run-size.ts).
   */
  workerMaxRunSize: number | null;
  /**
   * `SIFT_RUN_WINDOW_MS` (formerly `SIFT_BATCH_WINDOW_MS`, still read): how long a text waits for
   * company while an inference thread is free. Default 0: until the end of the event-loop turn.
   */
  runWindowMs: number;
  /** `SIFT_REDIS_TIMEOUT_MS`: a cache read or write slower than this is given up. Default 250. */
  redisTimeoutMs: number;
  /**
   * `SIFT_CHUNK_SIZE`: rows a batch chunk job carries. Default 2000: every chunk costs each process
   * a fixed amount (a dozen Redis commands and scripts, a progress event, a queue job), which at
   * 500 rows was about a tenth of a file's CPU (`sift batch` of 200,000 rows with 2 workers, six
   * alternating pairs: 2.36-2.82 s at 500 against 2.05-2.40 at 2,000; 1,000 and 4,000 as fast as
   * 2,000). With the cache's entries in hashes, Redis's share of a chunk's fixed cost stood out:
   * 2,000 rows against 1,000 cost it 0.32-0.33 CPU-s a file against 0.37-0.38 (`worker-cpu.js`, 2
   * workers, 5 runs a side, both orders). Long rows no longer make 2,000-row chunks large:
   * SIFT_CHUNK_CHARACTERS cuts them. Larger chunks make a small batch wait longer behind the few
   * queued ahead of it.
   */
  chunkSize: number;
  /**
   * `SIFT_CHUNK_CHARACTERS`: characters of ids and texts a batch chunk holds at most; a chunk that
   * reaches it is cut short of SIFT_CHUNK_SIZE rows. Default 1,000,000: rows of a few hundred
   * characters fill 2,000-row chunks below it, while a chunk of the longest, most escaped rows a
   * batch may hold (the API keeps a text's first 2 x maxTextLength + 2 characters) is about 6 MB of
   * stored JSON rather than 30, in the API reading it, a worker labelling it and an event sending it.
   */
  chunkCharacters: number;
  /**
   * `SIFT_SCHEDULE_WINDOW`: chunk jobs waiting in the workers' queue at most; the rest wait in the
   * schedule, where priorities and turns apply (see chunk-schedule.ts). Larger lets more workers
   * start at once after a pause; smaller lets a new batch in sooner. Default 4.
   */
  scheduleWindow: number;
  /** `SIFT_MAX_INLINE_ROWS`: most rows a batch submitted over GraphQL may have. Default 10000. */
  maxInlineRows: number;
  /**
   * `SIFT_MAX_UPLOAD_BYTES`: largest file `POST /batches` takes. The API streams uploads in flat
   * memory, but every row waits in Redis until its chunk runs, so this bounds what one upload may
   * put there. Default 2 GiB.
   */
  maxUploadBytes: number;
  /**
   * `SIFT_MAX_ROW_BYTES`: longest row an upload may have, in bytes (a line, its line end not
   * counted). A longer one is refused with `ROW_TOO_LARGE` as soon as it passes the limit, before
   * anything decodes or parses it (see row-limit.ts). Default 1 MiB: far above any text a bundled
   * model reads (their `maxTextLength` is a few thousand characters), yet small enough that one
   * row never holds much memory.
   */
  maxRowBytes: number;
  /**
   * `SIFT_UPLOAD_IDLE_TIMEOUT_MS`: an upload that sends nothing for this long is ended (408
   * `UPLOAD_IDLE_TIMEOUT`) and creates no batch. Uploads have no limit on their total time, only
   * this one on silence. Default 60000.
   */
  uploadIdleTimeoutMs: number;
  /**
   * `SIFT_MAX_UPLOADS_PER_KEY`: uploads (`POST /batches`) one API key, or one client address with
   * auth off, may have in progress at once on one API process; one more is refused (429
   * `TOO_MANY_UPLOADS`, Retry-After) before its body is read. Default 2.
   */
  maxUploadsPerKey: number;
  /**
   * `SIFT_MAX_UPLOADS`: uploads one API process reads at once, every key's together; past it, the
   * same refusal. Default 4: eight uploads at once of the longest, most escaped rows a row may be
   * (30 MB chunks) took an API to 1.4-1.75 GB and timed half of them out on Redis
   * (`REDIS_UNAVAILABLE`), where four took it to 630 MB and all passed (docs/security.md).
   */
  maxUploads: number;
  /**
   * `SIFT_GRAPHQL_BODY_TIMEOUT_MS`: a GraphQL request over HTTP whose body has not all arrived this
   * long after the request began is answered 408 `REQUEST_BODY_TIMEOUT` and its connection closed.
   * Default 60000, as long as Node gives the headers.
   */
  graphqlBodyTimeoutMs: number;
  /** `SIFT_BATCH_RETENTION_SECONDS`: how long a batch and its results stay. Default 7 days. */
  batchRetentionSeconds: number;
  /**
   * `SIFT_WORKER_CONCURRENCY`: chunks one worker process runs at once. Default 4: a chunk spends
   * much of its time waiting on Redis or the inference thread, and four in flight keep both busy
   * (the batch benchmark ran 1 worker at about 20k rows/s with 2, about 28k with 4).
   */
  workerConcurrency: number;
  /**
   * `SIFT_STALL_INTERVAL_MS`: how often workers prove they still hold their chunks; a chunk whose
   * worker died runs again elsewhere after one to two intervals. Default 5000.
   */
  stallIntervalMs: number;
  /**
   * `SIFT_STUCK_AFTER_MS`: a batch with no sign of life for this long is looked at by the sweeper
   * (which requeues chunks that lost their job, fails a batch whose input was lost, and removes an
   * upload whose API process died half way). An upload in progress says it is alive every sixth
   * of this. Default 120000 (2 min).
   */
  stuckAfterMs: number;
  /** `SIFT_SWEEP_INTERVAL_MS`: how often a worker runs the sweeper (one worker at a time). Default 30000. */
  sweepIntervalMs: number;
  /**
   * `SIFT_METRICS`: `on` or `off`. Off collects nothing (no counter, no event-loop monitor): the
   * API's `/metrics` and a worker's answer 404, and a worker's `/healthz` still answers. Default on.
   */
  metrics: boolean;
  /**
   * `SIFT_METRICS_PORT`: the port a worker serves `GET /metrics` and `GET /healthz` on (the API
   * serves them on `PORT`); 0 for none. Under `sift up`, worker i (from 0) gets this port + i.
   * Default 9464.
   */
  metricsPort: number;
  /**
   * `SIFT_METRICS_HOST`: the interface a worker's metrics port listens on. Default `127.0.0.1`, this
   * machine only; `0.0.0.0` in a container, where Prometheus reaches it over the container network.
   */
  metricsHost: string;
  /** `SIFT_METRICS_QUEUE_INTERVAL_MS`: how often the API samples the chunk queue for `sift_queue_jobs`. Default 5000. */
  metricsQueueIntervalMs: number;
  /**
   * Rate limits per client (an API key, or an address with auth off), kept in Redis so they hold
   * across API processes; 0 turns one off. Far above what a person or a normal script does.
   * `SIFT_RATE_REQUESTS_PER_SECOND` (default 1000): GraphQL requests and WebSocket operations.
   * `SIFT_RATE_TEXTS_PER_SECOND` (default 50000): texts sent to the models by predict and predictMany.
   * `SIFT_RATE_BATCHES_PER_MINUTE` (default 120): batches submitted.
   * `SIFT_RATE_BATCH_ROWS_PER_MINUTE` (default 30000000): rows queued; a faster upload is slowed to it, not refused.
   */
  rateLimits: RateLimitSettings;
  /** `SIFT_WORKERS`: worker processes `npm start` runs beside the API (0 for the API alone). Default 1. */
  workers: number;
  /**
   * `SIFT_PRIVATE_REDIS`: `auto` (the default) lets `sift up` start a private, memory-only
   * redis-server on REDIS_URL's port when nothing answers there on this machine; `off` never does,
   * and `sift up` waits for that Redis as `sift serve` does. Off for a REDIS_URL that names a
   * Redis of your own: a private one started while it restarts takes its port.
   */
  privateRedis: 'auto' | 'off';
  /** `SIFT_LOG_LEVEL`: debug, info, warn, error or silent. Default info. */
  logLevel: LogLevel;
  /**
   * `SIFT_LOG_FORMAT`: `json` (one JSON object a line) or `pretty` (a line a person reads). Unset
   * (null): pretty when stderr, where logs go, is a terminal, JSON otherwise.
   */
  logFormat: LogFormat | null;
  /**
   * OpenTelemetry tracing, from the standard `OTEL_*` variables (see tracing/tracing-settings.ts):
   * on when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and
   * `OTEL_SDK_DISABLED` is not `true`); null otherwise, when no SDK is even loaded.
   */
  tracing: Readonly<TracingSettings> | null;
  /** `NODE_ENV`: `development` shows internal error messages and stack traces to clients. */
  development: boolean;
}

type Env = Record<string, string | undefined>;

/**
 * A setting that was renamed: the new name wins, the old one is still read (and named in any
 * error), so an existing deployment keeps its value.
 */
function renamed(env: Env, name: string, formerName: string): [Env, string] {
  const given = (value: string | undefined) => value !== undefined && value.trim() !== '';
  return given(env[name]) || !given(env[formerName]) ? [env, name] : [env, formerName];
}

function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  return wholeNumber(env, name, min, max, ` (default ${fallback}).`) ?? fallback;
}

/** A whole number from `min` to `max`, or null when the variable is not set. */
function readOptionalInteger(env: Env, name: string, min: number, max: number): number | null {
  return wholeNumber(env, name, min, max, ', or nothing for the default.');
}

/** The variable as a whole number from `min` to `max`, null when unset; `defaultWords` end the refusal's message. */
function wholeNumber(env: Env, name: string, min: number, max: number, defaultWords: string): number | null {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return null;
  // Digits only: Number() also takes 1e3, 0x10 and 1_000-free forms no one means as a port or a count.
  const value = /^[+-]?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw setupError(ErrorCodes.BAD_CONFIG, `${name}=${JSON.stringify(raw)} is not valid: expected a whole number from ${min} to ${max}${defaultWords}`);
  }
  return value;
}

/** One of `choices`, or null when the variable is not set. */
function readOptionalChoice<const C extends string>(env: Env, name: string, choices: readonly C[]): C | null {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return null;
  const value = raw.trim().toLowerCase();
  if (!(choices as readonly string[]).includes(value)) throw setupError(ErrorCodes.BAD_CONFIG, `${name}=${JSON.stringify(raw)} is not valid: expected ${choices.join(' or ')}.`);
  return value as C;
}

/** Whether a HOST is this machine only (nothing else can reach it). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * `SIFT_CORS_ORIGINS`: a comma-separated list of origins (scheme, host and port; no path), each
 * kept as the browser would send it in `Origin`. `*` is refused: it would let every page read.
 */
function readOrigins(env: Env): readonly string[] {
  const raw = env.SIFT_CORS_ORIGINS;
  if (raw === undefined || raw.trim() === '') return Object.freeze([]);
  const bad = (problem: string) => setupError(ErrorCodes.BAD_CONFIG, `SIFT_CORS_ORIGINS=${JSON.stringify(raw)} is not valid: ${problem} (default: none, only the page this server serves).`);
  const origins = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '').map((entry) => {
    if (entry === '*') throw bad('"*" would let any web page read this server; list the origins, e.g. https://app.example.com');
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw bad(`${JSON.stringify(entry)} is not an origin; expected e.g. https://app.example.com or http://localhost:5173`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.pathname !== '/' || url.search || url.hash) {
      throw bad(`${JSON.stringify(entry)} is not an origin; give the scheme, host and port only, e.g. https://app.example.com`);
    }
    return url.origin;
  });
  return Object.freeze([...new Set(origins)]);
}

function readString(env: Env, name: string, fallback: string, check?: (value: string) => string | undefined): string {
  const raw = env[name];
  const value = raw === undefined || raw.trim() === '' ? fallback : raw.trim();
  const problem = check?.(value);
  if (problem) throw setupError(ErrorCodes.BAD_CONFIG, `${name}=${JSON.stringify(raw)} is not valid: ${problem}`);
  return value;
}

function checkRedisUrl(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return 'expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379.';
    return undefined;
  } catch {
    return 'expected a URL such as redis://127.0.0.1:6379.';
  }
}

function checkModelName(value: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value) ? undefined : 'expected a model folder name (letters, digits, ".", "_", "-").';
}

function readProviders(env: Env): readonly ExecutionProvider[] {
  const raw = readString(env, 'SIFT_EXECUTION_PROVIDERS', 'cpu');
  const providers = raw.split(',').map((p) => p.trim().toLowerCase());
  const unknown = providers.find((p) => !(EXECUTION_PROVIDERS as readonly string[]).includes(p));
  if (unknown !== undefined) {
    throw setupError(ErrorCodes.BAD_CONFIG, `SIFT_EXECUTION_PROVIDERS=${JSON.stringify(raw)} is not valid: ${JSON.stringify(unknown)} is not one of ${EXECUTION_PROVIDERS.join(', ')}.`);
  }
  return Object.freeze(providers as ExecutionProvider[]);
}

/**
 * A list of `key=value` pairs, comma-separated, values percent-encoded (the form of
 * `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES`). A bad entry is named by its
 * position, never quoted: these variables may hold a collector's API key.
 */
function readKeyValues(env: Env, name: string): Record<string, string> {
  const raw = env[name];
  const pairs: Record<string, string> = {};
  if (raw === undefined || raw.trim() === '') return pairs;
  raw.split(',').forEach((entry, index) => {
    if (entry.trim() === '') return;
    const equals = entry.indexOf('=');
    const key = equals < 0 ? '' : entry.slice(0, equals).trim();
    let value: string | undefined;
    try {
      value = equals < 0 ? undefined : decodeURIComponent(entry.slice(equals + 1).trim());
    } catch {
      value = undefined;
    }
    if (key === '' || value === undefined) {
      throw setupError(ErrorCodes.BAD_CONFIG, `${name} is not valid: entry ${index + 1} is not key=value (expected e.g. key1=value1,key2=value2, values percent-encoded).`);
    }
    pairs[key] = value;
  });
  return pairs;
}

/** An OTLP/HTTP URL (its query and credentials are never echoed). */
function checkOtlpUrl(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'expected an http:// or https:// URL, e.g. http://127.0.0.1:4318.';
  } catch {
    return 'expected a URL such as http://127.0.0.1:4318 (an OpenTelemetry collector\'s OTLP/HTTP port).';
  }
}

/**
 * The standard OpenTelemetry variables Sift honours, read here like every other setting. Tracing
 * is on when an OTLP endpoint is set, unless `OTEL_SDK_DISABLED=true`; the other variables are
 * only read (and checked) then, so a stray one costs nothing with tracing off.
 */
function readTracing(env: Env): Readonly<TracingSettings> | null {
  const disabled = readOptionalChoice(env, 'OTEL_SDK_DISABLED', ['true', 'false'] as const);
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || null;
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || null;
  if (disabled === 'true' || (tracesEndpoint === null && endpoint === null)) return null;
  // The signal's own endpoint is used as it is; the general one gets the signal's path added.
  const url = tracesEndpoint
    ? readString(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', '', checkOtlpUrl)
    : `${readString(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', '', checkOtlpUrl).replace(/\/+$/, '')}/v1/traces`;
  const protocolVariable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = readString(env, protocolVariable, 'http/protobuf', (value) =>
    (OTLP_PROTOCOLS as readonly string[]).includes(value)
      ? undefined
      : `expected http/protobuf (the default) or http/json: Sift sends spans over OTLP/HTTP (a collector's port 4318), not gRPC.`,
  ) as TracingSettings['protocol'];
  const sampler = readString(env, 'OTEL_TRACES_SAMPLER', 'parentbased_always_on', (value) =>
    (TRACE_SAMPLERS as readonly string[]).includes(value) ? undefined : `expected one of ${TRACE_SAMPLERS.join(', ')}.`,
  ) as TracingSettings['sampler'];
  const ratio = readString(env, 'OTEL_TRACES_SAMPLER_ARG', '1', (value) => {
    const number = Number(value);
    return Number.isFinite(number) && number >= 0 && number <= 1 ? undefined : 'expected a ratio from 0 to 1 (the share of traces kept by the traceidratio samplers).';
  });
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || null;
  return Object.freeze({
    url,
    protocol,
    headers: Object.freeze({ ...readKeyValues(env, 'OTEL_EXPORTER_OTLP_HEADERS'), ...readKeyValues(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS') }),
    serviceName,
    resourceAttributes: Object.freeze(readKeyValues(env, 'OTEL_RESOURCE_ATTRIBUTES')),
    sampler,
    samplerRatio: Number(ratio),
  });
}

const SEVEN_DAYS = 7 * 24 * 3600;

/**
 * Reads and checks every setting. Throws a `BAD_CONFIG` error naming the variable on the first
 * bad value, so a typo stops start-up instead of being silently replaced by a default.
 */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Readonly<SiftConfig> {
  const config: SiftConfig = {
    port: readInteger(env, 'PORT', 4000, 0, 65535),
    host: readString(env, 'HOST', '127.0.0.1'),
    auth: readOptionalChoice(env, 'SIFT_AUTH', ['keys', 'off'] as const),
    redisUrl: readString(env, 'REDIS_URL', 'redis://127.0.0.1:6379', checkRedisUrl),
    cacheRedisUrl: readString(env, 'SIFT_CACHE_REDIS_URL', readString(env, 'REDIS_URL', 'redis://127.0.0.1:6379', checkRedisUrl), checkRedisUrl),
    keyPrefix: readString(env, 'SIFT_KEY_PREFIX', 'sift:', (v) => (/\s/.test(v) ? 'must not contain spaces.' : undefined)),
    modelsDir: path.resolve(cwd, readString(env, 'SIFT_MODELS_DIR', './models')),
    defaultModel: readString(env, 'SIFT_DEFAULT_MODEL', 'sentiment', checkModelName),
    cacheTtlSeconds: readInteger(env, 'SIFT_CACHE_TTL_SECONDS', SEVEN_DAYS, 1, 10 * 365 * 24 * 3600),
    maxTextsPerRequest: readInteger(env, 'SIFT_MAX_TEXTS_PER_REQUEST', 1000, 1, 100_000),
    maxResultRowsPerRequest: readInteger(env, 'SIFT_MAX_RESULT_ROWS_PER_REQUEST', 5000, 1, 1_000_000),
    maxAliases: readInteger(env, 'SIFT_MAX_ALIASES', 30, 0, 100_000),
    maxQueryDepth: readInteger(env, 'SIFT_MAX_QUERY_DEPTH', 12, 1, 1000),
    maxQueryTokens: readInteger(env, 'SIFT_MAX_QUERY_TOKENS', 5000, 100, 10_000_000),
    maxDirectives: readInteger(env, 'SIFT_MAX_DIRECTIVES', 20, 0, 100_000),
    introspection: readOptionalChoice(env, 'SIFT_INTROSPECTION', ['on', 'off'] as const),
    corsOrigins: readOrigins(env),
    maxOperationsPerSocket: readInteger(env, 'SIFT_MAX_OPERATIONS_PER_SOCKET', 100, 1, 100_000),
    cachedPrediction: (readOptionalChoice(env, 'SIFT_CACHED_PREDICTION', ['on', 'off'] as const) ?? 'on') === 'on',
    inferenceThreads: readInteger(env, 'SIFT_INFERENCE_THREADS', Math.max(1, availableParallelism() - 1), 1, 64),
    workerInferenceThreads: readInteger(env, 'SIFT_WORKER_INFERENCE_THREADS', 0, 0, 64),
    executionProviders: readProviders(env),
    maxRunSize: readInteger(...renamed(env, 'SIFT_MAX_RUN_SIZE', 'SIFT_MAX_BATCH_SIZE'), 256, 1, 16_384),
    workerMaxRunSize: readOptionalInteger(env, 'SIFT_WORKER_MAX_RUN_SIZE', 1, 16_384),
    runWindowMs: readInteger(...renamed(env, 'SIFT_RUN_WINDOW_MS', 'SIFT_BATCH_WINDOW_MS'), 0, 0, 1000),
    redisTimeoutMs: readInteger(env, 'SIFT_REDIS_TIMEOUT_MS', 250, 10, 60_000),
    chunkSize: readInteger(env, 'SIFT_CHUNK_SIZE', 2000, 1, 100_000),
    chunkCharacters: readInteger(env, 'SIFT_CHUNK_CHARACTERS', 1_000_000, 1, 256 * 1024 ** 2),
    scheduleWindow: readInteger(env, 'SIFT_SCHEDULE_WINDOW', 4, 1, 10_000_000),
    maxInlineRows: readInteger(env, 'SIFT_MAX_INLINE_ROWS', 10_000, 1, 10_000_000),
    maxUploadBytes: readInteger(env, 'SIFT_MAX_UPLOAD_BYTES', 2 * 1024 ** 3, 1024, Number.MAX_SAFE_INTEGER),
    // A row is held whole as one string while it is read: V8's strings stop at about 512 M characters.
    maxRowBytes: readInteger(env, 'SIFT_MAX_ROW_BYTES', 1024 ** 2, 1024, 256 * 1024 ** 2),
    uploadIdleTimeoutMs: readInteger(env, 'SIFT_UPLOAD_IDLE_TIMEOUT_MS', 60_000, 100, 3_600_000),
    maxUploadsPerKey: readInteger(env, 'SIFT_MAX_UPLOADS_PER_KEY', 2, 1, 100_000),
    maxUploads: readInteger(env, 'SIFT_MAX_UPLOADS', 4, 1, 100_000),
    graphqlBodyTimeoutMs: readInteger(env, 'SIFT_GRAPHQL_BODY_TIMEOUT_MS', 60_000, 100, 3_600_000),
    batchRetentionSeconds: readInteger(env, 'SIFT_BATCH_RETENTION_SECONDS', SEVEN_DAYS, 60, 10 * 365 * 24 * 3600),
    workerConcurrency: readInteger(env, 'SIFT_WORKER_CONCURRENCY', 4, 1, 64),
    stallIntervalMs: readInteger(env, 'SIFT_STALL_INTERVAL_MS', 5000, 100, 600_000),
    stuckAfterMs: readInteger(env, 'SIFT_STUCK_AFTER_MS', 120_000, 600, 24 * 3600_000),
    sweepIntervalMs: readInteger(env, 'SIFT_SWEEP_INTERVAL_MS', 30_000, 100, 3600_000),
    metrics: (readOptionalChoice(env, 'SIFT_METRICS', ['on', 'off'] as const) ?? 'on') === 'on',
    privateRedis: readOptionalChoice(env, 'SIFT_PRIVATE_REDIS', ['auto', 'off'] as const) ?? 'auto',
    metricsPort: readInteger(env, 'SIFT_METRICS_PORT', 9464, 0, 65535),
    metricsHost: readString(env, 'SIFT_METRICS_HOST', '127.0.0.1'),
    metricsQueueIntervalMs: readInteger(env, 'SIFT_METRICS_QUEUE_INTERVAL_MS', 5000, 100, 3600_000),
    rateLimits: {
      requestsPerSecond: readInteger(env, 'SIFT_RATE_REQUESTS_PER_SECOND', 1000, 0, 1e9),
      textsPerSecond: readInteger(env, 'SIFT_RATE_TEXTS_PER_SECOND', 50_000, 0, 1e9),
      batchesPerMinute: readInteger(env, 'SIFT_RATE_BATCHES_PER_MINUTE', 120, 0, 1e9),
      batchRowsPerMinute: readInteger(env, 'SIFT_RATE_BATCH_ROWS_PER_MINUTE', 30_000_000, 0, 1e12),
    },
    workers: readInteger(env, 'SIFT_WORKERS', 1, 0, 64),
    logLevel: readString(env, 'SIFT_LOG_LEVEL', 'info', (v) => (isLogLevel(v) ? undefined : 'expected debug, info, warn, error or silent.')) as LogLevel,
    logFormat: readOptionalChoice(env, 'SIFT_LOG_FORMAT', ['json', 'pretty'] as const),
    tracing: readTracing(env),
    development: readString(env, 'NODE_ENV', 'production') === 'development',
  };
  return Object.freeze(config);
}
