import { isFinalStatus } from '../batches/batch-status';
import { BatchProgressCountsDocument, type BatchFieldsFragment } from '../client/generated/graphql';
import { CliError, ExitCodes } from './cli-errors';
import { asSentence, passingFailure, patience, Reconnection } from './reconnect';
import type { ServerConnection } from './server-connection';

/** Where a follower tells the person at the terminal that the connection went and came back. */
export interface ConnectionNotices {
  /** Once per loss, whatever the number of tries. */
  lost(words: string): void;
  /** Once, when the first event arrives after a loss. */
  back(words: string): void;
}

/**
 * A batch's progress, snapshot by snapshot, from the counts-only `batchProgress` subscription,
 * through dropped connections: when the socket closes (the API restarted, the network dropped),
 * the server ends the subscription without a final status (it is shutting down), or it answers
 * REDIS_UNAVAILABLE, the follower subscribes again with backoff (`server.reconnect`), says so
 * once, and carries on. It selects no rows, so there is nothing to resume: a new subscription's
 * first event is the batch as it is now. Ends after the batch's final status (read until the
 * subscription completes); gives up with exit 3 once the server has been away for the reconnect
 * bound.
 *
 * `reached`: whether this command has already reached the server (the upload of `sift batch`).
 * Until it has, a server that does not answer is reported at once, as before (exit 3).
 */
export async function* progressSnapshots(server: ServerConnection, id: string, notices: ConnectionNotices, reached: boolean): AsyncGenerator<BatchFieldsFragment> {
  const reconnection = new Reconnection(server.reconnect);
  let latest: BatchFieldsFragment | null = null;
  // What the last loss was: nothing answering (a connection), or the server saying "not now".
  let lostConnection = true;
  for (;;) {
    let failure: ReturnType<typeof passingFailure>;
    try {
      for await (const event of server.client.subscribe(BatchProgressCountsDocument, { id })) {
        reached = true;
        if (reconnection.reached()) notices.back(lostConnection ? `Reconnected to ${server.url}; following batch ${id} again.` : `Progress of batch ${id} flows again.`);
        latest = event.batchProgress.batch;
        yield latest;
      }
      if (latest && isFinalStatus(latest.status)) return;
      // Completed before the end: the server is shutting down and ended its subscriptions.
      failure = { connection: true, retryAfterMs: 0, detail: 'the server ended the subscription' };
    } catch (error) {
      // The final status arrived: a socket that closes afterwards changes nothing.
      if (latest && isFinalStatus(latest.status)) return;
      failure = passingFailure(error);
      if (!failure || (failure.connection && !reached)) throw server.failure(error);
    }
    if (!reconnection.lost) {
      lostConnection = failure.connection;
      const detail = asSentence(failure.detail);
      notices.lost(
        failure.connection
          ? `Connection to ${server.url} lost; reconnecting (for up to ${patience(server.reconnect)}).`
          : `The server stopped sending progress: ${detail} Subscribing again (for up to ${patience(server.reconnect)}).`,
      );
    }
    if (!(await reconnection.wait(failure.retryAfterMs))) throw gaveUp(server, id);
  }
}

/** What sift says when the server stayed away for the whole reconnect bound (exit 3); `ended`: the batch had ended. */
export function gaveUp(server: ServerConnection, id: string, ended = false): CliError {
  const batch = ended ? `batch ${id} ended; fetch its results` : `batch ${id} may still be running there. Follow it with \`sift watch ${id}\` and fetch its results`;
  return new CliError(
    `Could not reach the Sift server at ${server.url} again for ${patience(server.reconnect)}; ${batch} with \`sift results ${id} OUTPUT\` once the server is back.`,
    ExitCodes.UNREACHABLE,
    'UNREACHABLE',
  );
}
