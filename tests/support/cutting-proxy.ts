import net from 'node:net';

/** A TCP proxy in front of a server that breaks off some answers midway, as a dropped network does. */
export interface CuttingProxy {
  url: string;
  /** How many answers it has cut so far. */
  cuts(): number;
  close(): Promise<void>;
}

/**
 * Passes every byte (HTTP and WebSocket alike) between clients and `127.0.0.1:targetPort`, except
 * that the answers to the first `times` requests whose request line matches `request` are cut
 * after `afterBytes` bytes: both sockets are destroyed there. With `hold`, the answer stops there
 * instead, its connection left open: a download that stalls.
 */
export async function startCuttingProxy(targetPort: number, request: RegExp, { times = 1, afterBytes = 64 * 1024, hold = false } = {}): Promise<CuttingProxy> {
  let cuts = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
      socket.on('error', () => undefined);
    }
    let answered = -1; // bytes of the answer being cut, -1 when this answer is not to be cut
    client.on('data', (data: Buffer) => {
      if (cuts < times && request.test(data.toString('latin1'))) answered = 0;
      upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => {
      if (answered < 0) return void client.write(data);
      answered += data.length;
      if (answered <= afterBytes) return void client.write(data);
      cuts++;
      const sent = data.subarray(0, data.length - (answered - afterBytes));
      if (hold) {
        client.write(sent);
        upstream.pause();
        upstream.removeAllListeners('data');
        return;
      }
      client.end(sent, () => client.destroy());
      upstream.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cuts: () => cuts,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
