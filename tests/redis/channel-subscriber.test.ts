import { Redis } from 'ioredis';
import { ChannelSubscriber } from '../../src/redis/channel-subscriber';
import { eventually } from '../support/api';
import { startMonitor, testRedis, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

/** ChannelSubscriber against the real Redis: one SUBSCRIBE per channel however many listeners, one UNSUBSCRIBE when the last leaves. */
describe('ChannelSubscriber', () => {
  const prefix = uniquePrefix('channel-subscriber');
  let connection: Redis;
  let commands: Redis;
  let errors: string[];
  let subscriber: ChannelSubscriber;
  /** SUBSCRIBE, UNSUBSCRIBE and PING commands with this suite's prefix, as MONITOR saw them. */
  let sent: string[];
  let monitor: Redis;

  beforeEach(async () => {
    connection = new Redis(TEST_REDIS_URL, { autoResubscribe: false });
    commands = testRedis();
    errors = [];
    subscriber = new ChannelSubscriber(connection, (what, error) => errors.push(`${what}: ${error.message}`));
    sent = [];
    monitor = await startMonitor(commands);
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (/^((un)?subscribe|ping)$/i.test(args[0]) && args[1]?.startsWith(prefix)) sent.push(`${args[0].toUpperCase()} ${args[1].slice(prefix.length)}`);
    });
  });

  afterEach(() => {
    // Each once: disconnecting an ended connection again leaves a timer behind.
    for (const redis of [monitor, connection, commands]) if (redis.status !== 'end') redis.disconnect();
  });

  const subscribers = async (channel: string) => Number(((await commands.pubsub('NUMSUB', prefix + channel)) as [string, number])[1]);

  it('shares one SUBSCRIBE among listeners that come together, delivers to each, and unsubscribes when the last leaves', async () => {
    const heard: string[] = [];
    const [a, b] = await Promise.all([subscriber.subscribe(prefix + 'c', (m) => heard.push(`a ${m}`)), subscriber.subscribe(prefix + 'c', (m) => heard.push(`b ${m}`))]);
    expect(await subscribers('c')).toBe(1);
    await commands.publish(prefix + 'c', 'one');
    await eventually(async () => heard.length === 2, 5000, 'both listeners to hear');
    expect(heard.sort()).toEqual(['a one', 'b one']);
    a();
    a(); // a second call does nothing: b still listens
    await commands.publish(prefix + 'c', 'two');
    await eventually(async () => heard.includes('b two'), 5000, 'b to hear');
    expect(heard).not.toContain('a two');
    expect(await subscribers('c')).toBe(1);
    b();
    await eventually(async () => (await subscribers('c')) === 0, 5000, 'the channel to be unsubscribed');
    expect(subscriber.size).toBe(0);
    await eventually(async () => sent.length === 2, 5000, 'MONITOR to show both commands');
    expect(sent).toEqual(['SUBSCRIBE c', 'UNSUBSCRIBE c']);
  });

  it('a listener that comes right after the last one left subscribes again, after the UNSUBSCRIBE', async () => {
    const heard: string[] = [];
    const first = await subscriber.subscribe(prefix + 'd', () => undefined);
    first();
    const second = await subscriber.subscribe(prefix + 'd', (m) => heard.push(m));
    expect(await subscribers('d')).toBe(1);
    await commands.publish(prefix + 'd', 'again');
    await eventually(async () => heard.length === 1, 5000, 'the new listener to hear');
    second();
    await eventually(async () => sent.length === 4, 5000, 'MONITOR to show every command');
    expect(sent).toEqual(['SUBSCRIBE d', 'UNSUBSCRIBE d', 'SUBSCRIBE d', 'UNSUBSCRIBE d']);
  });

  it('a listener that throws is reported, and the others still hear every message', async () => {
    const heard: string[] = [];
    await subscriber.subscribe(prefix + 'e', () => {
      throw new Error('listener broke');
    });
    await subscriber.subscribe(prefix + 'e', (m) => heard.push(m));
    await commands.publish(prefix + 'e', '1');
    await commands.publish(prefix + 'e', '2');
    await eventually(async () => heard.length === 2, 5000, 'the second listener to hear both');
    expect(heard).toEqual(['1', '2']);
    expect(errors).toEqual([`a listener of ${prefix}e: listener broke`, `a listener of ${prefix}e: listener broke`]);
  });

  it('a listener that throws what is not an Error is reported too', async () => {
    const heard: string[] = [];
    await subscriber.subscribe(prefix + 'g', () => {
      throw undefined;
    });
    await subscriber.subscribe(prefix + 'g', (m) => heard.push(m));
    await commands.publish(prefix + 'g', '1');
    await eventually(async () => heard.length === 1, 5000, 'the second listener to hear');
    expect(errors).toEqual([`a listener of ${prefix}g: undefined`]);
  });

  it("sends a channel's SUBSCRIBE again only after a reconnect, not when 'ready' comes after its answer on the same connection", async () => {
    const heard: string[] = [];
    const leave = await subscriber.subscribe(prefix + 'h', (m) => heard.push(m));
    // ioredis writes a SUBSCRIBE at once while it checks that a new connection is ready, so the
    // answer may come before that connection's 'ready' (this suite's first test saw it now and
    // then, and a second SUBSCRIBE with it). The same order, made certain:
    connection.emit('ready');
    // A PING on the same connection goes after any SUBSCRIBE 'ready' made; MONITOR shows both in order.
    await connection.ping(prefix + 'mark');
    await eventually(async () => sent.includes('PING mark'), 5000, 'MONITOR to show the PING');
    expect(sent).toEqual(['SUBSCRIBE h', 'PING mark']);
    // A reconnect: the channel is subscribed again, once, and its messages heard.
    connection.disconnect(true);
    await eventually(async () => sent.length === 3, 5000, 'the SUBSCRIBE after the reconnect');
    expect(sent).toEqual(['SUBSCRIBE h', 'PING mark', 'SUBSCRIBE h']);
    await eventually(async () => (await subscribers('h')) === 1, 5000, 'the subscription to be back');
    await commands.publish(prefix + 'h', 'after');
    await eventually(async () => heard.includes('after'), 5000, 'the message after the reconnect');
    leave();
    expect(errors).toEqual([]);
  });

  it('refuses a connection that would subscribe again by itself after a reconnect', () => {
    const resubscribing = new Redis(TEST_REDIS_URL, { lazyConnect: true });
    expect(() => new ChannelSubscriber(resubscribing, () => undefined)).toThrow('autoResubscribe: false');
  });

  it('a SUBSCRIBE that fails rejects every listener waiting for it, and the next listener tries again', async () => {
    connection.disconnect(); // closed for good: the SUBSCRIBE fails at once
    const waiting = [subscriber.subscribe(prefix + 'f', () => undefined), subscriber.subscribe(prefix + 'f', () => undefined)];
    for (const result of await Promise.allSettled(waiting)) expect(result).toMatchObject({ status: 'rejected', reason: { message: 'Connection is closed.' } });
    expect(subscriber.size).toBe(0);
    await expect(subscriber.subscribe(prefix + 'f', () => undefined)).rejects.toThrow('Connection is closed.');
    // Leaving a closed connection's channel is no failure worth a warning.
    expect(errors).toEqual([]);
  });
});
