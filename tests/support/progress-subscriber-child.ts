/**
 * A process holding a progress channel's subscribing side, opened as shared-parts.ts opens an
 * API's, for tests/batches/progress-subscriber-outage.test.ts: neither a Redis outage nor a
 * command Redis refuses may end it. Driven over IPC: it subscribes to batch `b1` (and says
 * whether Redis took it); on 'down' it drops that subscription and subscribes to `b2` (Redis being
 * away, both wait in the connection's queue); on 'drop' it drops `b1`; on 'close' it closes its
 * connections and exits 0, and on 'drop and close' it drops `b1` and closes at once, as a process
 * stopping does. What the channel logs goes to stderr. An unhandled rejection ends it with exit 1
 * (Node's default), which the test sees.
 */
import { openProgressChannel } from '../../src/batches/progress-channel';
import { createLogger } from '../../src/logger';
import { RedisConnections } from '../../src/redis/connections';
import { redisKeys } from '../../src/redis/keys';

const [url, prefix] = process.argv.slice(2);
const connections = new RedisConnections({ url, role: 'api', logger: createLogger('silent') });
const channel = openProgressChannel(connections, redisKeys(prefix), true, createLogger('warn', 'subscriber-child'));
const send = (message: unknown) => process.send!(message);
// The test is gone (its Jest worker ended): so is this process, rather than reconnect forever.
process.on('disconnect', () => process.exit(1));

function closeAndExit(): void {
  connections.close();
  // A rejection left unhandled by the close would end the process before this timer.
  setTimeout(() => process.exit(0), 500);
}

void (async () => {
  let dropFirst = () => {};
  try {
    dropFirst = await channel.subscribe('b1', () => send('message b1'));
    send('subscribed b1');
  } catch (error) {
    send(`subscribe b1 failed: ${(error as Error).message}`);
  }
  process.on('message', (command: string) => {
    if (command === 'down') {
      dropFirst();
      channel.subscribe('b2', (message) => send(`message b2 ${message.count}`)).then(
        () => send('subscribed b2'),
        (error: Error) => send(`subscribe b2 failed: ${error.message}`),
      );
      send('queued');
    } else if (command === 'drop') {
      dropFirst();
      send('dropped b1');
    } else if (command === 'drop and close') {
      // As a process stopping does: its subscriptions end, then its connections close at once.
      dropFirst();
      closeAndExit();
    } else if (command === 'close') {
      closeAndExit();
    }
  });
})();
