import { isFinalStatus } from '../../src/batches/batch-status';
import { BatchDocument, type BatchQuery } from '../../src/client/generated/graphql';
import type { SiftClient } from '../../src/client/sift-client';
import { eventually } from './api';

/** Waits until a batch has a final status, and returns it as it ended. */
export async function finished(client: SiftClient, id: string): Promise<NonNullable<BatchQuery['batch']>> {
  let batch: BatchQuery['batch'] = null;
  await eventually(async () => {
    batch = (await client.request(BatchDocument, { id })).batch;
    return batch !== null && isFinalStatus(batch.status);
  }, 60_000, `batch ${id} to end`);
  return batch!;
}
