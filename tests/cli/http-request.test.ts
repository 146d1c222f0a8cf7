import { once } from 'node:events';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { bodyText, httpRequest } from '../../src/cli/http-request';

/** A real HTTP server on a free loopback port, answering with `handle`. */
async function serve(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ url: string; server: Server }> {
  const server = http.createServer(handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("the command line's HTTP requests (node:http)", () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
  });
  const start = async (handle: (request: IncomingMessage, response: ServerResponse) => void) => {
    const started = await serve(handle);
    servers.push(started.server);
    return started.url;
  };

  it('fails a connection that stays silent, rather than wait for ever', async () => {
    const url = await start((request) => request.resume()); // never answers
    const began = Date.now();
    await expect(httpRequest(`${url}/batches/x/results.csv`, { idleTimeoutMs: 300 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - began).toBeLessThan(5_000);
  });

  it('follows a download through redirects, with the key only to the same origin', async () => {
    const seen: { url: string; authorization?: string }[] = [];
    const target = await start((request, response) => {
      seen.push({ url: request.url!, authorization: request.headers.authorization });
      response.end('rows');
    });
    const sameOrigin = await start((request, response) => {
      seen.push({ url: request.url!, authorization: request.headers.authorization });
      if (request.url === '/first') response.writeHead(307, { location: '/second' }).end();
      else response.writeHead(302, { location: `${target}/elsewhere` }).end();
    });
    const response = await httpRequest(`${sameOrigin}/first`, { headers: { authorization: 'Bearer k' } });
    expect(response.statusCode).toBe(200);
    expect(await bodyText(response)).toBe('rows');
    expect(seen).toEqual([
      { url: '/first', authorization: 'Bearer k' },
      { url: '/second', authorization: 'Bearer k' },
      { url: '/elsewhere', authorization: undefined },
    ]);
  });

  it('answers an upload with its redirect as it is (its body is spent), and stops reading a body the server refused early', async () => {
    const redirecting = await start((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(307, { location: '/elsewhere' }).end());
    });
    const redirected = await httpRequest(`${redirecting}/batches`, { method: 'POST', body: Readable.from([Buffer.from('id,text\n')]) });
    expect(redirected.statusCode).toBe(307);
    redirected.resume();

    const refusing = await start((request, response) => {
      // Refused on the first bytes, as a row too large is: answered while the body still comes.
      request.once('data', () => response.writeHead(400, { 'content-type': 'application/json', connection: 'close' }).end('{"error":{"code":"ROW_TOO_LARGE","message":"too large"}}'));
    });
    let read = 0;
    const body = new Readable({
      read() {
        read++;
        if (read > 100_000) this.push(null);
        else setImmediate(() => this.push(Buffer.alloc(64 * 1024, 0x61)));
      },
    });
    const refused = await httpRequest(`${refusing}/batches`, { method: 'POST', body });
    expect(refused.statusCode).toBe(400);
    expect(JSON.parse(await bodyText(refused))).toEqual({ error: { code: 'ROW_TOO_LARGE', message: 'too large' } });
    expect(body.destroyed).toBe(true);
    expect(read).toBeLessThan(100_000);
  });
});
