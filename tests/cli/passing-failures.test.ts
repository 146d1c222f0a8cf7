import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { CliError, ExitCodes } from '../../src/cli/cli-errors';
import { passingFailure, Reconnection } from '../../src/cli/reconnect';
import { ServerConnection } from '../../src/cli/server-connection';
import { SiftRequestError } from '../../src/client/sift-client';

const refusal = (code: string, retryAfterSeconds?: number) => new SiftRequestError([{ message: code, extensions: { code, reason: code, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) } }]);

describe('what sift batch and sift watch wait out, and for how long', () => {
  it('waits out a rate limit or Redis away for as long as the server asks', () => {
    expect(passingFailure(refusal('RATE_LIMITED', 3))).toMatchObject({ connection: false, retryAfterMs: 3000 });
    expect(passingFailure(refusal('REDIS_UNAVAILABLE', 2))).toMatchObject({ connection: false, retryAfterMs: 2000 });
    expect(passingFailure(new CliError('slow down', ExitCodes.BAD_INPUT, 'RATE_LIMITED'))).toMatchObject({ connection: false, retryAfterMs: 2000 });
  });

  it('waits out an HTTP refusal for the Retry-After the server sent, or 2 s without one', async () => {
    // A first submit still reading, as the API answers a replay of its idempotency key after a minute.
    let retryAfter: string | null = '5';
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(409, { 'content-type': 'application/json', ...(retryAfter === null ? {} : { 'retry-after': retryAfter }) });
      res.end(JSON.stringify({ error: { code: 'FIRST_SUBMIT_PENDING', message: 'the first submit is still reading its input' } }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const connection = new ServerConnection(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const upload = () => connection.upload(Readable.from(['text\na\n']), 'text/csv', {}).catch((error: unknown) => error);
      expect(passingFailure(await upload())).toMatchObject({ connection: false, retryAfterMs: 5000 });
      retryAfter = null;
      expect(passingFailure(await upload())).toMatchObject({ connection: false, retryAfterMs: 2000 });
      // Digits past a double's range are no wait at all, as a non-finite retryAfterSeconds over GraphQL is not.
      retryAfter = '9'.repeat(400);
      expect(passingFailure(await upload())).toMatchObject({ connection: false, retryAfterMs: 2000 });
    } finally {
      await connection.close();
      server.close();
    }
  });

  it('waits past a timer\'s longest in steps', async () => {
    // SIFT_RECONNECT_SECONDS past 24.8 days and a Retry-After as long: a timer that long fired at
    // once (with a TimeoutOverflowWarning), and sift sent its upload again thousands of times a second.
    const delays: number[] = [];
    const timer = jest.spyOn(global, 'setTimeout').mockImplementation(((_: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return 0 as unknown as NodeJS.Timeout;
    }) as typeof setTimeout);
    try {
      void new Reconnection({ firstDelayMs: 500, maxDelayMs: 5000, giveUpAfterMs: 3e9 }).wait(2.5e9);
      await Promise.resolve();
      expect(delays).toEqual([2 ** 31 - 1]);
    } finally {
      timer.mockRestore();
    }
  });

  it('does not retry what trying again cannot fix', () => {
    for (const code of ['FORBIDDEN', 'UNAUTHENTICATED', 'UNKNOWN_BATCH', 'BAD_USER_INPUT']) expect(passingFailure(refusal(code))).toBeNull();
    expect(passingFailure(new Error('a bug'))).toBeNull();
  });
});
