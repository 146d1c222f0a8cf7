import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { redisKeys } from '../../src/redis/keys';
import { eventually, freePort } from '../support/api';
import { startRedisServer, type TestRedisServer } from '../support/redis-server';
import { uniquePrefix } from '../support/redis';

/**
 * The subscribing side of the progress channel through Redis outages, in a process of its own
 * (tests/support/progress-subscriber-child.ts), as an API process holds it: an unhandled
 * rejection ends a Node process, so the exit code tells. graphql-redis-subscriptions, used before
 * channel-subscriber.ts, dropped the promises of UNSUBSCRIBE and of a failed SUBSCRIBE; an API
 * process died that way when Redis was away longer than ioredis waits for queued commands by
 * default (20 reconnect attempts), or refused either command.
 */
const CHILD = path.join(__dirname, '..', 'support', 'progress-subscriber-child.js');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Child {
  readonly said: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly process: ChildProcess;

  constructor(url: string, prefix: string) {
    this.process = fork(CHILD, [url, prefix], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.process.on('message', (message) => this.said.push(String(message)));
    this.exited = new Promise((resolve) => this.process.once('exit', (code) => resolve(code)));
  }

  tell(command: string): void {
    this.process.send(command);
  }

  /** Waits until the child has said `words` (or a line matching it; or exited, or `ms` passed); fails with what it said. */
  async heard(words: string | RegExp, ms = 10_000): Promise<void> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    const said = () => this.said.some((line) => (typeof words === 'string' ? line === words : words.test(line)));
    const deadline = Date.now() + ms;
    while (!said() && !exited && Date.now() < deadline) await sleep(20);
    if (!said()) throw new Error(`the child did not say ${String(words)}${exited ? ' (it exited)' : ''}; it said ${JSON.stringify(this.said)}`);
  }

  /** Whether it is still running. */
  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  kill(): void {
    if (this.process.exitCode === null) this.process.kill('SIGKILL');
  }
}

describe('progress subscriptions while Redis is away', () => {
  let server: TestRedisServer;
  let child: Child | undefined;
  const prefix = uniquePrefix('subscriber-outage');

  beforeEach(async () => {
    server = await startRedisServer(await freePort());
  });

  afterEach(async () => {
    child?.kill();
    await server.kill();
  });

  it('closes cleanly right after dropping its last subscription (a process stopping)', async () => {
    child = new Child(server.url, prefix);
    await child.heard('subscribed b1');
    child.tell('drop and close');
    expect(await child.exited).toBe(0);
  });

  /** Publishes a progress message on a batch's channel of the test's Redis. */
  async function publishProgress(batchId: string, count: number): Promise<void> {
    const publisher = new Redis(server.url);
    try {
      await publisher.publish(redisKeys(prefix).progressChannel(batchId), JSON.stringify({ batchId, from: 0, count }));
    } finally {
      publisher.disconnect();
    }
  }

  /** A user of the test's Redis that may run everything but `commands`; its URL. */
  async function userWithout(commands: string[]): Promise<string> {
    const admin = new Redis(server.url);
    try {
      await admin.acl('SETUSER', 'limited', 'on', '>secret', '~*', '&*', '+@all', ...commands.map((command) => `-${command}`));
    } finally {
      admin.disconnect();
    }
    return server.url.replace('redis://', 'redis://limited:secret@');
  }

  it('a SUBSCRIBE Redis refuses (an ACL without it) fails that subscriber with the reason, and the process lives on', async () => {
    child = new Child(await userWithout(['subscribe']), prefix);
    await child.heard(/^subscribe b1 failed: NOPERM .*'subscribe'/);
    await sleep(1000);
    expect(child.running).toBe(true);
    child.tell('close');
    expect(await child.exited).toBe(0);
  });

  it('an UNSUBSCRIBE Redis refuses is logged, and the process lives on', async () => {
    child = new Child(await userWithout(['unsubscribe']), prefix);
    await child.heard('subscribed b1');
    child.tell('drop');
    await child.heard('dropped b1');
    await sleep(1000);
    expect(child.running).toBe(true);
    child.tell('close');
    expect(await child.exited).toBe(0);
  });

  it('a subscription made before Redis restarts hears messages after it', async () => {
    child = new Child(server.url, prefix);
    await child.heard('subscribed b1');
    await server.shutdown();
    await sleep(500);
    await server.start();
    // Published until heard: the SUBSCRIBE made again after the reconnect comes when it comes.
    for (let i = 0; i < 100 && !child.said.includes('message b1'); i++) {
      await publishProgress('b1', 1);
      await sleep(100);
    }
    await child.heard('message b1');
    child.tell('close');
    expect(await child.exited).toBe(0);
  }, 30_000);

  it('a SUBSCRIBE made again after a reconnect that Redis refuses is logged, and the process lives on', async () => {
    child = new Child(await userWithout([]), prefix);
    await child.heard('subscribed b1');
    // Narrowing a user's channels disconnects its clients subscribed to others (Redis 7): the
    // connection comes back, and Redis refuses the SUBSCRIBE made again. ioredis's own
    // resubscription left that rejection unhandled, which ended the process.
    const admin = new Redis(server.url);
    try {
      await admin.acl('SETUSER', 'limited', 'resetchannels', '&other:*');
      await eventually(async () => Number(((await admin.pubsub('NUMSUB', redisKeys(prefix).progressChannel('b1'))) as [string, number])[1]) === 0, 5000, 'the subscription to end');
      await eventually(async () => ((await admin.client('LIST')) as string).includes('user=limited'), 10_000, 'the child to connect again');
    } finally {
      admin.disconnect();
    }
    await sleep(1000);
    expect(child.running).toBe(true);
    child.tell('close');
    expect(await child.exited).toBe(0);
  }, 30_000);

  it('keeps a subscription asked for during an outage longer than 20 reconnect attempts, and makes it once Redis is back', async () => {
    child = new Child(server.url, prefix);
    await child.heard('subscribed b1');
    await server.shutdown();
    child.tell('down');
    await child.heard('queued');
    // ioredis's default gives up on queued commands after 20 attempts, 250 ms to 2 s apart (a
    // refused connection fails at once): 33 s. Then the UNSUBSCRIBE's rejection, left unhandled
    // by graphql-redis-subscriptions (used before channel-subscriber.ts), ended the process.
    await sleep(40_000);
    expect(child.running).toBe(true);
    expect(child.said.filter((words) => words.startsWith('subscribe b2 failed'))).toEqual([]);
    await server.start();
    await child.heard('subscribed b2', 15_000);
    await publishProgress('b2', 7);
    await child.heard('message b2 7');
    child.tell('close');
    expect(await child.exited).toBe(0);
  }, 90_000);
});
