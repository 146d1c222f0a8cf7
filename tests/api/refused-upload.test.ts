import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { drainRefusedUpload } from '../../src/http/refused-upload';
import { eventually } from '../support/api';

/**
 * A server that answers 400 on an upload's first bytes, as POST /batches refuses a row too large,
 * then drains the rest with `lingerMs` and `maxBytes`; `bytesRead` holds what each connection had
 * read from its client when it closed.
 */
async function refusingServer(lingerMs: number, maxBytes?: number, stopping?: AbortSignal): Promise<{ port: number; bytesRead: number[]; close(): Promise<void> }> {
  const bytesRead: number[] = [];
  const server = http.createServer((req, res) => {
    req.once('data', () => {
      req.pause();
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"code":"ROW_TOO_LARGE"}}');
      drainRefusedUpload(req, { lingerMs, maxBytes, stopping });
    });
  });
  server.on('connection', (socket) => socket.once('close', () => bytesRead.push(socket.bytesRead)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    bytesRead,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A raw client that starts a chunked upload and sends a piece every 20 ms until the server closes the connection. */
function endlessUpload(port: number): { answer: Promise<string>; closedAfterMs: Promise<number> } {
  const socket = net.connect(port, '127.0.0.1');
  socket.write('POST /batches HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n');
  const piece = 'x'.repeat(16 * 1024);
  const timer = setInterval(() => socket.writable && socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`), 20);
  let received = '';
  socket.on('data', (data: Buffer) => (received += data.toString()));
  socket.on('error', () => undefined);
  const started = Date.now();
  // Not events.once: it rejects on 'error', and a server that closes a connection whose client is
  // still sending (unread bytes in its socket) resets it, which the client reads as ECONNRESET:
  // that close is what this test waits for (a flake in CI, 1 in about 100 runs).
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve())).then(() => {
    clearInterval(timer);
    return Date.now() - started;
  });
  return { answer: closed.then(() => received), closedAfterMs: closed };
}

describe('an upload answered before its end', () => {
  it('stays open for the linger time, so the answer arrives whole, then its connection is closed if the client goes on sending', async () => {
    const server = await refusingServer(400);
    try {
      const upload = endlessUpload(server.port);
      expect(await upload.answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*\{"error":\{"code":"ROW_TOO_LARGE"\}\}\r\n0\r\n\r\n$/);
      // Closed by the server (the client never stops), after the linger and not much later.
      const closedAfter = await upload.closedAfterMs;
      expect(closedAfter).toBeGreaterThanOrEqual(400);
      expect(closedAfter).toBeLessThan(5000);
    } finally {
      await server.close();
    }
  });

  it('is closed soon after the server stops, rather than when its linger ends', async () => {
    const stopping = new AbortController();
    // A linger far longer than the test's wait: only the stop can close the connection in time.
    const server = await refusingServer(60_000, undefined, stopping.signal);
    try {
      // A client that sent part of its body and waits: it reads its answer, and sends nothing more
      // that the server would leave unread.
      const socket = net.connect(server.port, '127.0.0.1');
      socket.on('error', () => undefined);
      let received = '';
      socket.on('data', (data: Buffer) => (received += data.toString()));
      const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));
      socket.write('POST /batches HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n');
      socket.write(`400\r\n${'x'.repeat(1024)}\r\n`);
      await eventually(async () => received.startsWith('HTTP/1.1 400 Bad Request'), 5000, 'the refusal');
      expect(await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve(false), 300))])).toBe(false);
      stopping.abort();
      const started = Date.now();
      await closed;
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      await server.close();
    }
  });

  it('stops reading after maxBytes: a client that floods its refused upload fills only the sockets, at no cost to the server', async () => {
    const server = await refusingServer(400, 256 * 1024);
    try {
      const socket = net.connect(server.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('POST /batches HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n');
      const piece = 'z'.repeat(64 * 1024);
      let sent = 0;
      // As fast as the socket takes it, until the server closes the connection.
      const flood = () => {
        while (socket.writable && socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`)) sent += piece.length;
      };
      socket.on('drain', flood);
      const closed = new Promise((resolve) => socket.once('close', resolve));
      flood();
      // The server resets the connection it closes with unread bytes: ECONNRESET here, expected.
      await closed;
      await eventually(async () => server.bytesRead.length > 0, 2000, 'the server to close the connection');
      // What the server read: the first piece it refused on, the 256 KiB, and what one read takes past it.
      expect(server.bytesRead[0]).toBeLessThan(2 * 1024 * 1024);
      expect(sent).toBeGreaterThan(server.bytesRead[0]);
    } finally {
      await server.close();
    }
  });

  it('keeps the connection of a client that ends its body: the next request on it is answered', async () => {
    const server = await refusingServer(60_000);
    try {
      const socket = net.connect(server.port, '127.0.0.1');
      let received = '';
      socket.on('data', (data: Buffer) => (received += data.toString()));
      socket.write('POST /batches HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 200000\r\n\r\n');
      socket.write('y'.repeat(200_000));
      const answers = () => received.split('HTTP/1.1 400').length - 1;
      await eventually(async () => answers() >= 1, 5000, 'the first answer');
      socket.write('POST /batches HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 5\r\n\r\nhello');
      await eventually(async () => answers() >= 2, 5000, 'the second answer');
      expect(answers()).toBe(2);
      expect(socket.destroyed).toBe(false);
      socket.destroy();
    } finally {
      await server.close();
    }
  });
});
