/** The shapes a load run takes and gives, shared by the free-running (autocannon) and the paced load. */

export interface LoadSpec {
  url: string;
  seconds: number;
  connections: number;
  /** 0: autocannon on this thread; n: in n autocannon worker threads. */
  workers: number;
  /** Offered load in requests/s, sent at a steady pace (see paced-load.ts); unset: as fast as answers come. */
  overallRate?: number;
  /** A fixed JSON body, or a body built per request with never-sent texts. */
  body: { fixed: string } | { bodyPrefix: string; texts: number };
}

/** What one load run measured. */
export interface LoadResult {
  seconds: number;
  /** Answers with a 2xx status. */
  ok: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number };
  /** Non-2xx statuses, connection errors (timeouts included, and also counted apart), 2xx bodies with GraphQL `errors`. */
  failures: { non2xx: number; errors: number; timeouts: number; graphqlErrors: number };
}
