import { Agent, request } from 'node:http';
import newTextRequest from './load-hooks/new-text-request';
import hasNoGraphQLErrors from './load-hooks/verify-body';
import type { LoadResult, LoadSpec } from './load-types';

/**
 * An open-loop load at a steady rate: a request every 1/rate seconds, spread evenly over each
 * millisecond tick, whether earlier answers came back or not. autocannon's rate limit lets each
 * connection send its whole quota at the start of every second, so its "paced" load arrives in
 * bursts and measures those bursts, not the server at that rate.
 */
export async function runPacedLoad(spec: LoadSpec & { overallRate: number }): Promise<LoadResult> {
  const url = new URL('/graphql', spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections * 4 });
  const latencies: number[] = [];
  const failures = { non2xx: 0, errors: 0, timeouts: 0, graphqlErrors: 0 };
  const context = 'fixed' in spec.body ? undefined : { bodyPrefix: spec.body.bodyPrefix, texts: spec.body.texts };
  const bodyOf = () => ('fixed' in spec.body ? spec.body.fixed : (newTextRequest({}, context!).body as string));
  const inFlight = new Set<Promise<void>>();

  const send = () => {
    const body = bodyOf();
    const started = process.hrtime.bigint();
    const done = new Promise<void>((resolve) => {
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
          if ((res.statusCode ?? 0) >= 300) failures.non2xx++;
          else if (!hasNoGraphQLErrors(Buffer.concat(chunks))) failures.graphqlErrors++;
          resolve();
        });
      });
      req.on('error', () => {
        failures.errors++;
        resolve();
      });
      req.end(body);
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };

  const start = Date.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = (Date.now() - start) / 1000;
      if (elapsed >= spec.seconds) {
        clearInterval(timer);
        return resolve();
      }
      for (const due = Math.floor(elapsed * spec.overallRate); sent < due; sent++) send();
    }, 1);
  });
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => (latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]);
  const ok = latencies.length - failures.non2xx;
  return { seconds: spec.seconds, ok, requestsPerSecond: ok / spec.seconds, latencyMs: { p50: at(0.5), p99: at(0.99) }, failures };
}
