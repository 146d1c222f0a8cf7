import { isFinalStatus } from './batch-status';
import type { BatchStore } from './batch-store';
import { unknownBatch, type BatchRowResult, type BatchSnapshot } from './batch-types';
import type { ProgressChannel, ProgressMessage } from './progress-channel';

/** One event of the `batchProgress` subscription. */
export interface ProgressEvent {
  batch: BatchSnapshot;
  rows: BatchRowResult[];
}

/**
 * How long the relay waits, once a batch has ended, for the messages of rows already counted. A
 * worker killed between counting a chunk and publishing it never sends them; its rows stay in the
 * results.
 */
const LATE_MESSAGE_MS = 2000;

/**
 * Live progress of one batch, from every worker, through Redis pub/sub: any API process relays
 * what any worker publishes. The first event is the current snapshot (so a late subscriber still
 * learns the truth); each later one carries the rows finished since, with a fresh snapshot, whose
 * counts never go down; the event with a final status is the last.
 */
export class BatchProgressFeed {
  constructor(private readonly channel: ProgressChannel, private readonly store: BatchStore) {}

  /**
   * The events of one batch. A client that leaves (its socket closes) ends the feed at once: the
   * returned iterator's `return()` wakes the wait for the next message, which a plain async
   * generator could not do until that message (or the 60 s heartbeat) came.
   */
  watch(id: string): AsyncIterableIterator<ProgressEvent> {
    const control: FeedControl = { closed: false, wake: undefined };
    const events = this.events(id, control);
    const iterator: AsyncIterableIterator<ProgressEvent> = {
      next: () => events.next(),
      return: (value?: unknown) => {
        control.closed = true;
        control.wake?.();
        return events.return(value);
      },
      throw: (error?: unknown) => events.throw(error),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private async *events(id: string, control: FeedControl): AsyncGenerator<ProgressEvent> {
    const waiting: ProgressMessage[] = [];
    // Subscribe before reading the snapshot, so no chunk can finish unseen in between.
    const unsubscribe = await this.channel.subscribe(id, (message) => {
      waiting.push(message);
      control.wake?.();
    });
    const next = (timeoutMs: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        control.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    try {
      let batch = await this.store.get(id);
      if (!batch) throw unknownBatch(id);
      yield { batch, rows: [] };
      // Rows the snapshot counted plus rows relayed since: once the batch has ended, the relay
      // waits for every counted row's message (workers publish just after counting).
      let accounted = batch.processed;
      while (!isFinalStatus(batch.status)) {
        if (waiting.length === 0) await next(60_000);
        control.wake = undefined;
        if (control.closed) return;
        let messages = waiting.splice(0);
        batch = (await this.store.get(id)) ?? batch;
        accounted += rowCount(messages);
        if (isFinalStatus(batch.status)) {
          const deadline = Date.now() + LATE_MESSAGE_MS;
          while (accounted < batch.processed && Date.now() < deadline && !control.closed) {
            if (waiting.length === 0) await next(deadline - Date.now());
            control.wake = undefined;
            const late = waiting.splice(0);
            accounted += rowCount(late);
            messages = messages.concat(late);
          }
        }
        if (control.closed) return;
        yield { batch, rows: await this.rowsOf(id, messages) };
      }
    } finally {
      unsubscribe();
    }
  }

  private async rowsOf(id: string, messages: readonly ProgressMessage[]): Promise<BatchRowResult[]> {
    const pages = await Promise.all(messages.filter((m) => m.count > 0).map((m) => this.store.results(id, m.from, m.count)));
    return pages.flat();
  }
}

/** How a consumer that leaves reaches the feed's wait. */
interface FeedControl {
  closed: boolean;
  wake: (() => void) | undefined;
}

function rowCount(messages: readonly ProgressMessage[]): number {
  return messages.reduce((sum, message) => sum + message.count, 0);
}
