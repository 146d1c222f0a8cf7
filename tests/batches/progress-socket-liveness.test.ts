import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema } from 'graphql';
import WebSocket, { WebSocketServer } from 'ws';
import { useServer } from '../../src/http/ws-adapter';

// A subscription that streams 64 kB events as fast as each socket takes them: a client that stops
// reading fills its socket's buffers within a second.
const schema = buildSchema(`type Query { ok: Boolean } type Subscription { flood: String }`);
const BIG = 'x'.repeat(64 * 1024);
const roots = {
  subscription: {
    flood: async function* flood() {
      for (;;) {
        // An event loop turn between events, as events that come from I/O have.
        await new Promise((resolve) => setImmediate(resolve));
        yield { flood: BIG };
      }
    },
  },
};
const KEEP_ALIVE_MS = 300;

/** A graphql-ws client on a raw socket, subscribed to the flood; `autoPong: false` never answers a ping. */
async function floodClient(url: string, options: { autoPong: boolean; subscribe: boolean }) {
  const ws = new WebSocket(url, 'graphql-transport-ws', { autoPong: options.autoPong });
  let messages = 0;
  let closedAt: number | undefined;
  ws.on('message', () => messages++);
  ws.on('close', () => (closedAt = Date.now()));
  await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ type: 'connection_init' }));
  await new Promise((resolve) => ws.once('message', resolve));
  if (options.subscribe) ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { flood }' } }));
  return { ws, messages: () => messages, closed: () => closedAt !== undefined };
}

describe('WebSocket keep-alive: a client still reading is alive, one that stopped is closed', () => {
  let http: Server;
  let dispose: () => void | Promise<void>;
  let url: string;
  beforeAll(async () => {
    http = createServer();
    const wss = new WebSocketServer({ server: http });
    dispose = useServer({ schema, roots }, wss, KEEP_ALIVE_MS).dispose;
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await dispose();
    await new Promise((resolve) => http.close(resolve));
  });

  const periods = (n: number) => new Promise((resolve) => setTimeout(resolve, n * KEEP_ALIVE_MS));

  it('keeps a socket whose client never answers pings but takes what is sent, and closes one that takes nothing and does not answer', async () => {
    const reading = await floodClient(url, { autoPong: false, subscribe: true });
    const idle = await floodClient(url, { autoPong: false, subscribe: false });
    const answering = await floodClient(url, { autoPong: true, subscribe: false });
    await periods(8);
    expect(reading.closed()).toBe(false);
    expect(reading.messages()).toBeGreaterThan(10);
    expect(idle.closed()).toBe(true);
    expect(answering.closed()).toBe(false);
    for (const client of [reading, answering]) client.ws.terminate();
  });

  it('closes a socket whose client stopped reading, once its buffers are full', async () => {
    const stuck = await floodClient(url, { autoPong: true, subscribe: true });
    await periods(2);
    stuck.ws.pause();
    const before = stuck.messages();
    await periods(20);
    // Paused, it sees nothing, the close included, until it reads again.
    stuck.ws.resume();
    for (let i = 0; i < 50 && !stuck.closed(); i++) await periods(1);
    expect(before).toBeGreaterThan(0);
    expect(stuck.closed()).toBe(true);
  });
});
