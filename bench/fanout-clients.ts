/**
 * The fan-out section's clients, run as a process of their own (`node dist/bench/fanout-clients.js
 * '<json FanoutClientsInput>'`) so their CPU is not the bench's nor the API's: opens one graphql-ws
 * client (with `ws`, as src/client/sift-client.ts does) per subscriber, each on its own WebSocket,
 * subscribes every one to `batchProgress` of one batch, and records what each receives.
 *
 * Talks to the bench by JSON lines on stdout: `{"type":"ready"}` once every subscriber has its
 * first event, then `{"type":"result", ...}` (FanoutClientsReport) once every subscription has
 * ended, or when the bench writes `stop` to stdin (or closes it): the bench stops waiting.
 */
import { parse, print, visit, type DocumentNode, type FieldNode, type OperationDefinitionNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { BatchProgressCountsDocument } from '../src/client/generated/graphql';

/** What the bench asks of the clients process. */
export interface FanoutClientsInput {
  /** The API's root, e.g. http://127.0.0.1:4000. */
  url: string;
  batchId: string;
  subscribers: number;
  /** `counts`: the client's BatchProgressCounts document (a progress bar); `rows`: the same plus `rows { index }`. */
  kind: 'counts' | 'rows';
}

/** What one subscriber received. Times are `Date.now()` ms (the API and the bench share the clock). */
export interface SubscriberRecord {
  events: number;
  rows: number;
  /** Every row's index was the count of rows before it: 0, 1, 2, ... with no gap or duplicate. */
  rowsInOrder: boolean;
  /** `processed` and `status` of the first event (the snapshot at subscription). */
  firstProcessed: number | null;
  firstStatus: string | null;
  /** Status, processed and total of the last event received. */
  lastStatus: string | null;
  lastProcessed: number | null;
  lastTotal: number | null;
  /** When the first event with a final status (COMPLETED, FAILED, CANCELLED) arrived; null if none did. */
  finalAt: number | null;
  /** Events that arrived after the one with a final status. */
  eventsAfterFinal: number;
  /** The server completed the subscription. */
  completed: boolean;
  /** The error that ended it (a GraphQL error's code and message, or a socket close), if any. */
  error: string | null;
}

export interface FanoutClientsReport {
  type: 'result';
  subscribers: SubscriberRecord[];
  /** The bench said stop before every subscription had ended. */
  stopped: boolean;
  /** ms from the first connection to the last subscriber's first event. */
  subscribeMs: number;
  /** CPU seconds this process had used when it reported (it may exit before the bench can read /proc). */
  cpuSeconds: number;
}

/** The `ready` line: every subscriber has its first event (or ended without one). */
export interface FanoutClientsReady {
  type: 'ready';
  subscribeMs: number;
  /** Subscribers that got a first event. */
  withFirst: number;
  /** CPU seconds this process had used by then. */
  cpuSeconds: number;
}

const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
// Connections opened at a time: 1,000 at once would overflow the API's accept backlog (511).
const CONNECT_CONCURRENCY = 50;

/** The client's BatchProgressCounts document with `rows { index }` added under `batchProgress`. */
function withRowIndexes(document: DocumentNode): DocumentNode {
  const rows = ((parse('{ rows { index } }').definitions[0] as OperationDefinitionNode).selectionSet.selections[0]) as FieldNode;
  return visit(document, {
    Field(node) {
      if (node.name.value !== 'batchProgress' || !node.selectionSet) return undefined;
      return { ...node, selectionSet: { ...node.selectionSet, selections: [...node.selectionSet.selections, rows] } };
    },
  });
}

interface ProgressData {
  batchProgress?: { batch: { status: string; processed: number; total: number }; rows?: { index: number }[] };
}

function subscribeOne(client: Client, query: string, batchId: string, record: SubscriberRecord, onFirst: () => void, onEnd: () => void): void {
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  client.subscribe<ProgressData>(
    { query, variables: { id: batchId } },
    {
      next: (result) => {
        if (result.errors?.length) {
          record.error = result.errors.map((e) => `${(e.extensions as { code?: string } | undefined)?.code ?? ''} ${e.message}`.trim()).join('; ');
          return;
        }
        const progress = result.data?.batchProgress;
        if (!progress) return;
        const { batch, rows } = progress;
        record.events++;
        if (record.events === 1) {
          record.firstProcessed = batch.processed;
          record.firstStatus = batch.status;
          onFirst();
        }
        if (record.finalAt !== null) record.eventsAfterFinal++;
        if (rows) {
          for (const row of rows) {
            if (row.index !== record.rows) record.rowsInOrder = false;
            record.rows++;
          }
        }
        record.lastStatus = batch.status;
        record.lastProcessed = batch.processed;
        record.lastTotal = batch.total;
        if (record.finalAt === null && FINAL.has(batch.status)) record.finalAt = Date.now();
      },
      error: (error) => {
        record.error = describe(error);
        end();
      },
      complete: () => {
        record.completed = true;
        end();
      },
    },
  );
}

function describe(error: unknown): string {
  if (Array.isArray(error)) return error.map((e: { message?: string; extensions?: { code?: string } }) => `${e.extensions?.code ?? ''} ${e.message ?? ''}`.trim()).join('; ');
  const event = error as { code?: unknown; reason?: unknown; message?: unknown };
  if (event && typeof event.code === 'number') return `socket closed ${event.code} ${String(event.reason ?? '')}`.trim();
  if (event && typeof event.message === 'string') return event.message;
  return String(error);
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '') as FanoutClientsInput;
  const document = input.kind === 'rows' ? withRowIndexes(BatchProgressCountsDocument) : BatchProgressCountsDocument;
  const query = print(document);
  const wsUrl = `${input.url.replace(/^http/, 'ws')}/graphql`;
  const records: SubscriberRecord[] = [];
  const clients: Client[] = [];
  let open = input.subscribers;
  let reported = false;
  const started = Date.now();
  let subscribeMs = NaN;

  const report = (stopped: boolean) => {
    if (reported) return;
    reported = true;
    const result: FanoutClientsReport = { type: 'result', subscribers: records, stopped, subscribeMs, cpuSeconds: cpuSeconds() };
    process.stdout.write(`${JSON.stringify(result)}\n`, () => {
      void Promise.all(clients.map((c) => c.dispose())).finally(() => process.exit(0));
    });
  };

  // A subscriber is settled once it has its first event, or has ended without one (refused).
  let settled = 0;
  let settleWake: (() => void) | undefined;
  const settle = () => {
    if (++settled === input.subscribers) {
      subscribeMs = Date.now() - started;
      const withFirst = records.filter((r) => r.events > 0).length;
      const ready: FanoutClientsReady = { type: 'ready', subscribeMs, withFirst, cpuSeconds: cpuSeconds() };
      process.stdout.write(`${JSON.stringify(ready)}\n`);
    }
    settleWake?.();
  };
  const onFirst = settle;
  const onEnd = (record: SubscriberRecord) => {
    if (record.events === 0) settle();
    if (--open === 0) report(false);
  };

  // `stop` on stdin, or stdin closing (the bench is gone): report what arrived and leave.
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (text: string) => {
    if (text.includes('stop')) report(true);
  });
  process.stdin.on('end', () => report(true));

  // Subscribe in waves of CONNECT_CONCURRENCY: each wave's first events before the next opens.
  for (let i = 0; i < input.subscribers; i++) {
    const record: SubscriberRecord = {
      events: 0, rows: 0, rowsInOrder: true, firstProcessed: null, firstStatus: null, lastStatus: null, lastProcessed: null, lastTotal: null,
      finalAt: null, eventsAfterFinal: 0, completed: false, error: null,
    };
    records.push(record);
    const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
    clients.push(client);
    subscribeOne(client, query, input.batchId, record, onFirst, () => onEnd(record));
    while (i + 1 - settled >= CONNECT_CONCURRENCY && !reported) {
      await new Promise<void>((resolve) => (settleWake = resolve));
    }
  }
}

main().catch((error: Error) => {
  process.stderr.write(`fanout-clients: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
