import { Redis } from 'ioredis';
import type { RowModel } from '../../src/batches/row-codec';
import { encodeChunkOutcomes, encodeOutcome } from '../../src/batches/row-codec';
import { BatchStore } from '../../src/batches/batch-store';
import type { BatchRowResult } from '../../src/batches/batch-types';
import { ProgressChannel } from '../../src/batches/progress-channel';
import { ProgressRelay } from '../../src/batches/progress-relay';
import type { WatchItem } from '../../src/batches/progress-watcher';
import { createLogger } from '../../src/logger';
import { redisKeys } from '../../src/redis/keys';
import { eventually } from '../support/api';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../support/redis';
import { ChannelSubscriber } from '../../src/redis/channel-subscriber';

/** A store whose next read of rows waits until the test lets it go: a slow Redis read, at the moment the test picks. */
class GatedStore extends BatchStore {
  private gate: { reached: () => void; opened: Promise<void> } | undefined;

  /** Holds the next rowsOfChunks; resolves `reached` when it starts, and `open()` lets it go on. */
  holdNextRead(): { reached: Promise<void>; open: () => void } {
    let reached!: () => void;
    let open!: () => void;
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    this.gate = { reached, opened: new Promise<void>((resolve) => (open = resolve)) };
    return { reached: reachedPromise, open };
  }

  override async rowsOfChunks(id: string, model: RowModel, chunks: readonly number[]): Promise<BatchRowResult[]> {
    const gate = this.gate;
    this.gate = undefined;
    if (gate) {
      gate.reached();
      await gate.opened;
    }
    return super.rowsOfChunks(id, model, chunks);
  }
}

const prefix = uniquePrefix('replay-race');
const keys = redisKeys(prefix);
const model = { name: 'm', version: 'v1', labels: ['no', 'yes'] };
const outcomes = encodeChunkOutcomes([encodeOutcome({ scoresJson: '[0.2,0.8]', cached: false, error: null }), encodeOutcome({ scoresJson: '[0.9,0.1]', cached: false, error: null })]);
const counts = { succeeded: 2, failed: 0, cached: 0, labels: { yes: 1, no: 1 } };

describe('a subscriber replaying rows when the feed closes (the batch ended while no one was live)', () => {
  const commands = new Redis(TEST_REDIS_URL);
  const publisher = new Redis(TEST_REDIS_URL);
  const subscriber = new Redis(TEST_REDIS_URL, { autoResubscribe: false });
  const store = new GatedStore(commands, keys, 3600);
  const channel = new ProgressChannel({ keys, publisher, subscriber: new ChannelSubscriber(subscriber, (what, error) => console.warn(`${what} failed: ${error.message}`)) });
  const relay = new ProgressRelay({ channel, store, logger: createLogger('warn', 'test-relay') });
  afterAll(async () => {
    relay.close();
    await deleteKeys(commands, prefix);
    for (const connection of [commands, publisher, subscriber]) connection.disconnect();
  });

  async function record(id: string, chunk: number): Promise<void> {
    await store.saveChunk(id, chunk, [{ index: chunk * 2, id: null, text: `row ${chunk * 2}` }, { index: chunk * 2 + 1, id: null, text: `row ${chunk * 2 + 1}` }]);
    await store.recordChunk(id, chunk, chunk * 2, counts, 2, outcomes);
  }

  it('still gets the rows recorded after the page it was reading, then the final status with the last of them', async () => {
    const id = 'race-1';
    await store.create(id, model, new Date(), 2, 'owner-a');
    await store.finishIngest(id, 8, 4);
    for (const chunk of [0, 1, 2]) await record(id, chunk);

    // fromRow 0 with the feed at chunk 3: the subscriber replays chunks 0-2, and its read is held.
    const held = store.holdNextRead();
    const watcher = await relay.watch(id, { fromRow: 0, withRows: true });
    const items: WatchItem[] = [];
    const done = (async () => {
      for await (const item of watcher) items.push(item);
    })();
    await held.reached;
    // Meanwhile the last chunk finishes: with no live subscriber the feed moves to the end and closes.
    await record(id, 3);
    await channel.statusChanged(id);
    await eventually(async () => relay.watchedBatches === 0, 10_000, 'the feed to close');
    held.open();
    await done;

    const events = items.map((item) => {
      if ('error' in item) throw item.error;
      return item;
    });
    expect(events.flatMap((event) => event.rows.map((row) => row.index))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // The final status comes with the last rows, not before them.
    const statuses = events.map((event) => event.batch.status);
    expect(statuses.at(-1)).toBe('COMPLETED');
    expect(statuses.slice(0, -1)).not.toContain('COMPLETED');
    expect(events.at(-1)!.rows.map((row) => row.index)).toContain(7);
  });
});
