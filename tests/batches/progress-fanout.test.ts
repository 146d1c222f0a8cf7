import { readFileSync } from 'node:fs';
import { print } from 'graphql';
import WebSocket from 'ws';
import { SiftClient } from '../../src/client/sift-client';
import { eventually, freePort } from '../support/api';
import { indicesOf, range, ROW_INDICES, type LeanProgress } from '../support/progress';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';
import { startSiftUp, type SiftUp } from '../support/sift-up';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };
const ROWS = 20_000;
const SUBSCRIBERS = 200;

/** Texts of about 190 characters, so that the stuck subscriber's rows (texts and predictions) overflow its socket's buffers many times over. */
const textOf = (i: number) => `row ${i} ${'warm cold hot mild '.repeat(9)}${i % 13}`.slice(0, 190);

/** Every row with its text and scores: several MB for the whole batch. */
const FAT_ROWS = `subscription FatRows($id: ID!) {
  batchProgress(id: $id) { batch { status processed total } rows { index text prediction { label score scores { label score } } error } }
}`;

/** The API process's resident memory, in MB (Linux). */
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/**
 * A loopback TCP connection as the kernel sees it (Linux /proc/net/tcp), from the side on
 * `localPort` to `remotePort`: established or not, bytes it has not sent (or not had acknowledged)
 * and bytes it has received but not read.
 */
function tcpConnection(localPort: number, remotePort: number): { established: boolean; unsent: number; unread: number } | undefined {
  const hex = (port: number) => `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(hex(localPort)) && fields[2]?.endsWith(hex(remotePort))) {
      const [txQueue, rxQueue] = fields[4].split(':');
      return { established: fields[3] === '01', unsent: parseInt(txQueue, 16), unread: parseInt(rxQueue, 16) };
    }
  }
  return undefined;
}

/** What a subscriber needs to have got: a run of rows from 0 in order, and how it ended. */
interface Tally {
  rows: number;
  inOrder: boolean;
  events: number;
  finalBeforeLast: boolean;
  last?: LeanProgress['batchProgress']['batch'];
  error?: string;
}

/** A raw graphql-ws client on a socket of its own that stops reading once it has its first event. */
async function stuckSubscriber(url: string, id: string) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: { type: string; payload?: { data?: LeanProgress; errors?: { message: string; extensions?: { code?: string } }[] } }[] = [];
  let closed: number | undefined;
  let onMessage: (() => void) | undefined;
  ws.on('message', (data: Buffer) => {
    messages.push(JSON.parse(data.toString()));
    onMessage?.();
  });
  ws.on('close', (code: number) => {
    closed = code;
    onMessage?.();
  });
  await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const until = async (check: () => boolean) => {
    while (!check()) await new Promise<void>((resolve) => (onMessage = resolve));
  };
  ws.send(JSON.stringify({ type: 'connection_init' }));
  await until(() => messages.some((m) => m.type === 'connection_ack'));
  ws.send(JSON.stringify({ id: 'stuck', type: 'subscribe', payload: { query: FAT_ROWS, variables: { id } } }));
  await until(() => messages.some((m) => m.type === 'next'));
  // From here on nothing is read from the socket: the server's writes to it back up.
  ws.pause();
  return {
    /** Its connection as the kernel sees it now, from its side and from the server's. */
    connection: () => {
      const { localPort, remotePort } = (ws as unknown as { _socket: { localPort: number; remotePort: number } })._socket;
      return { client: tcpConnection(localPort, remotePort), server: tcpConnection(remotePort, localPort) };
    },
    /** Reads again, until the server completes the subscription or closes the socket. */
    resume: async () => {
      ws.resume();
      await until(() => closed !== undefined || messages.some((m) => m.type === 'complete' || m.type === 'error'));
      ws.close();
      return { messages, closed };
    },
  };
}

describe('batchProgress fan-out over real sockets', () => {
  it('200 row subscribers on one API process each get every row of a 20,000-row batch once, in order, and the final event, while a socket that stopped reading holds no one and memory stays bounded', async () => {
    const port = await freePort();
    const prefix = uniquePrefix('fanout-rows');
    const url = `http://127.0.0.1:${port}`;
    const api: SiftUp = startSiftUp({ ...shared, PORT: String(port), SIFT_WORKERS: '0', SIFT_KEY_PREFIX: prefix, SIFT_CHUNK_SIZE: '200', SIFT_LOG_LEVEL: 'warn', SIFT_RATE_REQUESTS_PER_SECOND: '0' });
    const redis = testRedis();
    const clients = range(SUBSCRIBERS).map(() => new SiftClient(url));
    let worker: WorkerProcess | undefined;
    let sampling: NodeJS.Timeout | undefined;
    try {
      await eventually(async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, 30_000, 'the API to be ready');
      const csv = ['text', ...range(ROWS).map(textOf)].join('\n');
      const uploaded = await fetch(`${url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
      const { id } = (await uploaded.json()) as { id: string };

      let firsts = 0;
      const tallies = clients.map(async (client) => {
        const tally: Tally = { rows: 0, inOrder: true, events: 0, finalBeforeLast: false };
        try {
          for await (const event of client.subscribe(ROW_INDICES, { id })) {
            if (tally.events++ === 0) firsts++;
            if (tally.last?.status === 'COMPLETED') tally.finalBeforeLast = true;
            for (const index of indicesOf([event])) {
              if (index !== tally.rows) tally.inOrder = false;
              tally.rows++;
            }
            tally.last = event.batchProgress.batch;
          }
        } catch (error) {
          tally.error = (error as Error).message;
        }
        return tally;
      });
      await eventually(async () => firsts === SUBSCRIBERS, 60_000, 'every subscriber to get its first event');
      // Last, so that the server's keep-alive (a ping every 12 s, the socket closed when no pong comes 12 s later) gives up on it as late as it can.
      const stuck = await stuckSubscriber(url, id);
      const rssBefore = rssMb(api.pid);
      let rssPeak = rssBefore;
      sampling = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(api.pid))), 100);
      worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: prefix, SIFT_CHUNK_SIZE: '200' });

      const results = await Promise.all(tallies);
      clearInterval(sampling);
      const wrong = results.filter((t) => t.error !== undefined || !t.inOrder || t.rows !== ROWS || t.finalBeforeLast || t.last?.status !== 'COMPLETED' || t.last.processed !== ROWS);
      expect(wrong).toEqual([]);
      // They were done while the stuck socket was still open, its receive buffer full and the server's side with bytes it could not send: it held no one.
      const { client: stuckClient, server: stuckServer } = stuck.connection();
      expect(stuckClient?.established).toBe(true);
      expect(stuckClient?.unread).toBeGreaterThan(0);
      expect(stuckServer?.unsent).toBeGreaterThan(0);
      // Bounded: the relay holds a few pages per subscriber, and at most the batch's rows for the stuck one.
      expect(rssPeak).toBeLessThan(rssBefore + 250);

      // The stuck socket: what it got is a run of rows from 0, in order, and it ended as designed:
      // completed with the final event (it read again before the server's keep-alive gave up on it),
      // or closed by the server (no pong to a ping for 12 s), or cut with SUBSCRIBER_TOO_SLOW.
      const { messages, closed } = await stuck.resume();
      const events = messages.filter((m) => m.type === 'next' && m.payload?.data).map((m) => m.payload!.data!);
      const indices = indicesOf(events);
      expect(indices).toEqual(range(indices.length));
      const errors = messages.flatMap((m) => m.payload?.errors ?? []);
      const tooSlow = errors.length === 1 && errors[0].extensions?.code === 'SUBSCRIBER_TOO_SLOW';
      if (!tooSlow) expect(errors).toEqual([]);
      process.stderr.write(`stuck subscriber: ${stuckClient?.unread} bytes unread and ${stuckServer?.unsent} unsent when the others were done; ${indices.length} rows, ${tooSlow ? 'SUBSCRIBER_TOO_SLOW' : `last message ${messages.at(-1)!.type}, closed ${closed}`}; API RSS ${rssBefore.toFixed(0)} MB, peak ${rssPeak.toFixed(0)} MB\n`);
      if (messages.at(-1)!.type === 'complete' && !tooSlow) {
        expect(indices).toHaveLength(ROWS);
        expect(events.at(-1)!.batchProgress.batch).toMatchObject({ status: 'COMPLETED', processed: ROWS });
      } else if (!tooSlow) {
        expect(closed).toBe(1006);
        expect(indices.length).toBeLessThan(ROWS);
      }
    } finally {
      clearInterval(sampling);
      await Promise.all(clients.map((c) => c.close()));
      await worker?.stop();
      await api.stop();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  }, 180_000);
});
