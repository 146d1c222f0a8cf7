import { Redis } from 'ioredis';
import type { RowModel } from '../../src/batches/row-codec';
import { encodeChunkOutcomes } from '../../src/batches/row-codec';
import { BatchStore, type BatchProgressState } from '../../src/batches/batch-store';
import type { BatchRowResult } from '../../src/batches/batch-types';
import { ProgressChannel } from '../../src/batches/progress-channel';
import { ProgressRelay } from '../../src/batches/progress-relay';
import type { WatchItem } from '../../src/batches/progress-watcher';
import { createLogger } from '../../src/logger';
import { redisKeys } from '../../src/redis/keys';
import { eventually } from '../support/api';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../support/redis';
import { ChannelSubscriber } from '../../src/redis/channel-subscriber';

/** A store whose next read of rows, or of the record, waits until the test lets it go: a slow Redis read, at the moment the test picks. */
class GatedStore extends BatchStore {
  private readonly gates = new Map<'rows' | 'progress', { reached: () => void; opened: Promise<void> }>();
  /** Reads of the record so far. */
  progressReads = 0;

  /** Holds the next read of `what`; resolves `reached` when it starts, and `open()` lets it go on. */
  holdNext(what: 'rows' | 'progress'): { reached: Promise<void>; open: () => void } {
    let reached!: () => void;
    let open!: () => void;
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    this.gates.set(what, { reached, opened: new Promise<void>((resolve) => (open = resolve)) });
    return { reached: reachedPromise, open };
  }

  private async pass(what: 'rows' | 'progress'): Promise<void> {
    const gate = this.gates.get(what);
    this.gates.delete(what);
    if (gate) {
      gate.reached();
      await gate.opened;
    }
  }

  override async rowsOfChunks(id: string, model: RowModel, chunks: readonly number[]): Promise<BatchRowResult[]> {
    await this.pass('rows');
    return super.rowsOfChunks(id, model, chunks);
  }

  override async progress(id: string): Promise<BatchProgressState | null> {
    this.progressReads++;
    await this.pass('progress');
    return super.progress(id);
  }
}

const prefix = uniquePrefix('replay-race');
const keys = redisKeys(prefix);
const model = { name: 'm', version: 'v1', labels: ['no', 'yes'] };
const outcomes = encodeChunkOutcomes([{ scoresJson: '[0.2,0.8]', cached: false, error: null }, { scoresJson: '[0.9,0.1]', cached: false, error: null }]);
const counts = { succeeded: 2, failed: 0, cached: 0, labels: { yes: 1, no: 1 } };

describe('a subscriber replaying rows when the feed closes (the batch ended while no one was live)', () => {
  const commands = new Redis(TEST_REDIS_URL);
  const publisher = new Redis(TEST_REDIS_URL);
  const subscriber = new Redis(TEST_REDIS_URL, { autoResubscribe: false });
  const store = new GatedStore(commands, keys, 3600);
  const channel = new ProgressChannel({ keys, publisher, subscriber: new ChannelSubscriber(subscriber, (what, error) => console.warn(`${what} failed: ${error.message}`)) });
  const warnings: string[] = [];
  const relay = new ProgressRelay({ channel, store, logger: createLogger('warn', 'test-relay', (line) => warnings.push(line)) });
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
    const held = store.holdNext('rows');
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

  it('takes a message that comes before its first read of the record in its stride: it reads once more after that read, rather than fail', async () => {
    const id = 'race-2';
    await store.create(id, model, new Date(), 2, 'owner-a');
    await store.finishIngest(id, 8, 4);
    await record(id, 0);
    const warned = warnings.length;

    // The feed's first read of the record is held, after its SUBSCRIBE.
    const held = store.holdNext('progress');
    const reads = store.progressReads;
    const watching = relay.watch(id, { fromRow: 0, withRows: true });
    await held.reached;
    // A chunk finishes meanwhile; the test's own listener of the channel hears it after the feed's.
    let hear!: () => void;
    const heard = new Promise<void>((resolve) => (hear = resolve));
    const unsubscribe = await channel.subscribe(id, () => hear());
    await record(id, 1);
    await channel.chunkFinished(id, 2, 2);
    await heard;
    unsubscribe();
    // Nothing to compare the message with yet: the feed waits for its first read, then reads once more.
    expect(store.progressReads).toBe(reads + 1);
    held.open();

    const watcher = await watching;
    await eventually(async () => store.progressReads === reads + 2, 5_000, 'the read after the first');
    const indices: number[] = [];
    const done = (async () => {
      for await (const item of watcher) {
        if ('error' in item) throw item.error;
        indices.push(...item.rows.map((row) => row.index));
      }
    })();
    for (const chunk of [2, 3]) {
      await record(id, chunk);
      await channel.chunkFinished(id, chunk * 2, 2);
    }
    await channel.statusChanged(id);
    await done;
    expect(indices).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(warnings.slice(warned)).toEqual([]);
  });
});
