import { CloseCode, DEPRECATED_GRAPHQL_WS_PROTOCOL, handleProtocols, makeServer, type ConnectionInitMessage, type Disposable, type ServerOptions } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import type { WebSocketServer } from 'ws';
import { createSharedJson } from './ws-shared-json';

/**
 * graphql-ws's `useServer` for `ws` (graphql-ws/use/ws, 6.4.2: its adapter is "a basic starter,
 * feel free to copy the code over and adjust it"), with one change: the text of each message goes
 * through `createSharedJson`, so an execution result handed to many subscribers is serialized
 * once, and a large one is written to every socket from one Buffer, as a message of three frames
 * (see ws-shared-json.ts). Error handling and closing are as in graphql-ws; so are keep-alive pings,
 * except that a socket whose client is still reading is not closed for a late pong (below).
 */
export function useServer<P extends ConnectionInitMessage['payload'] = ConnectionInitMessage['payload'], E extends Record<PropertyKey, unknown> = Record<PropertyKey, never>>(
  options: ServerOptions<P, Extra & Partial<E>> & { isProd?: boolean },
  ws: WebSocketServer,
  keepAlive = 12_000,
): Disposable {
  if (options.jsonMessageReplacer) throw new Error('useServer (ws-adapter) sets jsonMessageReplacer itself');
  const isProd = typeof options.isProd === 'boolean' ? options.isProd : process.env.NODE_ENV === 'production';
  const json = createSharedJson();
  const server = makeServer<P, Extra & Partial<E>>({ ...options, jsonMessageReplacer: json.replacer });
  const internalError = (error: unknown) => (isProd ? 'Internal server error' : limitCloseReason(error instanceof Error ? error.message : String(error), 'Internal server error'));
  ws.options.handleProtocols = handleProtocols;

  ws.once('error', (error) => {
    console.error('Internal error emitted on the WebSocket server. Please check your implementation.', error);
    let firstError: unknown = null;
    for (const client of ws.clients) {
      try {
        client.close(CloseCode.InternalServerError, internalError(error));
      } catch (closing) {
        firstError ??= closing;
      }
    }
    if (firstError) throw firstError;
  });

  ws.on('connection', (socket, request) => {
    socket.once('error', (error) => {
      console.error('Internal error emitted on a WebSocket socket. Please check your implementation.', error);
      socket.close(CloseCode.InternalServerError, internalError(error));
    });
    // A sign of life: a pong, or some of what was sent taken into the socket (the client read some).
    // graphql-ws closed a socket 12 s after an unanswered ping, but a ping waits behind whatever was
    // queued before it: a client reading slowly (a thousand row subscriptions in one process) met it
    // only after megabytes of rows, and was closed while reading. So a socket is closed after two
    // whole periods without a sign: one that stopped reading (or is gone) takes nothing once its
    // buffers are full, and an idle one that does not answer pings, are still closed.
    let lastSign = Date.now();
    socket.on('pong', () => (lastSign = Date.now()));
    const pingInterval =
      keepAlive > 0 && isFinite(keepAlive)
        ? setInterval(() => {
            if (socket.readyState !== socket.OPEN) return;
            if (Date.now() - lastSign > 2 * keepAlive) return socket.terminate();
            socket.ping();
          }, keepAlive)
        : null;
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            // Always expanded, sent or not: the next message's text is made only after this one's.
            const message = json.expand(data);
            if (socket.readyState !== socket.OPEN) return resolve();
            const sent = (error?: Error) => {
              if (error) return reject(error);
              lastSign = Date.now();
              resolve();
            };
            if (typeof message === 'string') return socket.send(message, sent);
            // One text message in three frames, sent together so nothing comes between them: the shared body is written as it is.
            socket.send(message.head, { binary: false, fin: false });
            socket.send(message.body, { binary: false, fin: false });
            socket.send(message.tail, { binary: false, fin: true }, sent);
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) =>
          socket.on('message', async (event) => {
            try {
              await cb(String(event));
            } catch (error) {
              console.error('Internal error occurred during message handling. Please check your implementation.', error);
              socket.close(CloseCode.InternalServerError, internalError(error));
            }
          }),
      },
      { socket, request } as Extra & Partial<E>,
    );
    socket.once('close', (code, reason) => {
      if (pingInterval) clearInterval(pingInterval);
      if (!isProd && code === CloseCode.SubprotocolNotAcceptable && socket.protocol === DEPRECATED_GRAPHQL_WS_PROTOCOL) {
        console.warn(`Client provided the unsupported and deprecated subprotocol "${socket.protocol}" used by subscriptions-transport-ws.`);
      }
      void closed(code, String(reason));
    });
  });

  return {
    dispose: async () => {
      for (const client of ws.clients) client.close(1001, 'Going away');
      ws.removeAllListeners();
      await new Promise<void>((resolve, reject) => ws.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** graphql-ws's limit on close reasons (123 bytes in the protocol; it counts characters). */
function limitCloseReason(reason: string, whenTooLong: string): string {
  return reason.length < 124 ? reason : whenTooLong;
}
