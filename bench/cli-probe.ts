/**
 * Preloaded into the `sift batch` child of the file-to-file section (`node --require`), so the
 * bench can split what the user waits for into phases without changing the CLI: it notes when
 * each HTTP request the CLI makes was sent, answered and fully received (http.request and
 * https.request wrapped, for its uploads and downloads, and undici's diagnostics channels, which
 * Node's fetch publishes to, for its GraphQL requests), and at exit the process's CPU time (all
 * threads) and peak RSS. It writes them as JSON to BENCH_CLI_PROBE_FILE, synchronously in the
 * `exit` event, where nothing asynchronous runs any more. The progress subscription runs over a
 * WebSocket (`ws`, not fetch) and is not seen here; the bench reads the batch record's times for
 * the server's side.
 */
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';

/** One request the CLI made; times in ms since the epoch (this machine's clock, as the server's records). */
export interface ProbedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** When the request was made (the CLI called http.request, or fetch). */
  createdAt: number;
  /** When the answer's status and headers arrived. */
  headersAt?: number;
  status?: number;
  /** When the answer's body was fully received. */
  doneAt?: number;
  error?: string;
}

/** What the probe writes at exit. */
export interface CliProbeReport {
  /** When the process began (Node's time origin), in ms since the epoch. */
  processStartAt: number;
  /** When this preload ran: Node itself is up, the CLI's modules are not loaded yet. */
  preloadAt: number;
  requests: ProbedRequest[];
  exitAt: number;
  exitCode: number;
  /** CPU seconds of the whole process (every thread), user + system. */
  cpuSeconds: number;
  /** Peak resident set size (getrusage ru_maxrss), in MB. */
  peakRssMb: number;
}

interface UndiciRequest {
  method: string;
  path: string;
}

const now = () => performance.timeOrigin + performance.now();
const file = process.env.BENCH_CLI_PROBE_FILE;

if (file) {
  const preloadAt = now();
  const requests = new Map<UndiciRequest | ClientRequest, ProbedRequest>();
  // Node's HTTP client publishes a request's start only once its body is sent (an upload's end):
  // the request is noted as it is made instead, and its answer and the body's end from the objects themselves.
  for (const client of [http, https]) {
    const request = client.request;
    client.request = function (this: unknown, ...args: unknown[]) {
      const made = (request as (...a: unknown[]) => ClientRequest).apply(this, args);
      const seen: ProbedRequest = { method: made.method, path: made.path, createdAt: now() };
      requests.set(made, seen);
      made.once('error', (error) => (seen.error ??= error.message));
      made.once('response', (response: IncomingMessage) => {
        Object.assign(seen, { headersAt: now(), status: response.statusCode });
        // Received whole when the parser ends the body (pushes null), whether or not the CLI reads it to its end.
        const push = response.push;
        response.push = function (this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding) {
          if (chunk === null) seen.doneAt ??= now();
          return push.call(this, chunk, encoding);
        };
        response.once('error', (error) => (seen.error ??= error.message));
      });
      return made;
    } as typeof client.request;
  }
  subscribe('undici:request:create', (message) => {
    const { request } = message as { request: UndiciRequest };
    requests.set(request, { method: request.method, path: request.path, createdAt: now() });
  });
  subscribe('undici:request:headers', (message) => {
    const { request, response } = message as { request: UndiciRequest; response: { statusCode: number } };
    const seen = requests.get(request);
    if (seen) Object.assign(seen, { headersAt: now(), status: response.statusCode });
  });
  subscribe('undici:request:trailers', (message) => {
    const seen = requests.get((message as { request: UndiciRequest }).request);
    if (seen) seen.doneAt = now();
  });
  subscribe('undici:request:error', (message) => {
    const { request, error } = message as { request: UndiciRequest; error: Error };
    const seen = requests.get(request);
    if (seen) seen.error = error.message;
  });
  process.on('exit', (code) => {
    const usage = process.resourceUsage();
    const report: CliProbeReport = {
      processStartAt: performance.timeOrigin,
      preloadAt,
      requests: [...requests.values()],
      exitAt: now(),
      exitCode: code,
      cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
      peakRssMb: usage.maxRSS / 1024,
    };
    writeFileSync(file, JSON.stringify(report));
  });
}
