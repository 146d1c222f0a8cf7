import { parse, print } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { SubmitBatchDocument } from '../../src/client/generated/graphql';
import { startTestApi, type TestApi } from '../support/api';
import { tinyModelsDir } from '../support/tiny-models';
import { startTestWorker, type TestWorker } from '../support/worker';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };

/** Every row with its text: one event of a 500-row chunk is far over the 8 kB a shared payload is sent from one Buffer. */
const ROWS_WITH_TEXT = print(parse('subscription Rows($id: ID!) { batchProgress(id: $id) { batch { status } rows { index text } } }'));

// The served API sends its WebSocket messages through Sift's adapter (src/http/ws-adapter.ts),
// not graphql-ws's own: a large event for many subscribers is written to each socket from one
// Buffer made once. Its own tests drive the adapter alone; this one watches the real API's
// server-side sends, so graphql-ws.ts losing the adapter (as it once did) fails here.
describe('the API serves WebSockets through its adapter', () => {
  let t: TestApi;
  let worker: TestWorker | undefined;
  beforeAll(async () => {
    t = await startTestApi(shared);
  });
  afterAll(async () => {
    await worker?.stop();
    await t.stop();
  });

  it('a large progress event goes to two subscribers as one shared Buffer', async () => {
    const sent: { socket: WebSocket; data: unknown; fin?: boolean }[] = [];
    const send = WebSocket.prototype.send;
    const spy = jest.spyOn(WebSocket.prototype, 'send').mockImplementation(function (this: WebSocket, data: unknown, ...rest: unknown[]) {
      const options = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { fin?: boolean }) : {};
      sent.push({ socket: this, data, fin: options.fin });
      return (send as (...args: unknown[]) => void).call(this, data, ...rest);
    });
    try {
      const texts = Array.from({ length: 1000 }, (_, i) => `a long enough text to make a large event, number ${i}`);
      const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts } });
      const url = `${t.api.url.replace(/^http/, 'ws')}/graphql`;
      const clients = [0, 1].map(() => createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 }));
      // Both subscribed (each has its first event, the queued batch) before a worker starts, so they share every later event.
      let firsts = 0;
      let bothSubscribed!: () => void;
      const subscribed = new Promise<void>((resolve) => (bothSubscribed = resolve));
      const ended = Promise.all(
        clients.map(
          (client) =>
            new Promise<void>((resolve, reject) => {
              let first = true;
              client.subscribe(
                { query: ROWS_WITH_TEXT, variables: { id: submitBatch.id } },
                { next: () => (first && ((first = false), ++firsts === 2) ? bothSubscribed() : undefined), error: reject, complete: resolve },
              );
            }),
        ),
      );
      await subscribed;
      worker = await startTestWorker({ ...shared, SIFT_KEY_PREFIX: t.prefix });
      await ended;
      await Promise.all(clients.map((client) => client.dispose()));
      // Server-side sends of a fragmented message: the shared body is one Buffer, sent with fin: false to each socket.
      const bodies = sent.filter((call) => Buffer.isBuffer(call.data) && call.fin === false && (call.data as Buffer).length > 8192);
      const socketsPerBody = new Map<unknown, Set<WebSocket>>();
      for (const call of bodies) socketsPerBody.set(call.data, (socketsPerBody.get(call.data) ?? new Set()).add(call.socket));
      expect(Math.max(0, ...[...socketsPerBody.values()].map((sockets) => sockets.size))).toBe(2);
    } finally {
      spy.mockRestore();
    }
  }, 60_000);
});
