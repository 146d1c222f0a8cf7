/**
 * Labels a sentence, then submits a small batch, follows its progress live and prints its rows:
 * queries and the mutation through sift-client's SiftClient, the subscription with graphql-ws
 * itself, all typed by documents generated from the server's schema (npm run codegen).
 */
import { createClient } from 'graphql-ws';
import { print } from 'graphql';
import { SiftClient } from 'sift-client';
import WebSocket from 'ws';
import { ProgressDocument, ResultsDocument, SentimentDocument, SubmitTextsDocument, type ProgressSubscription } from './generated/graphql';

async function main(server: string, apiKey: string | undefined): Promise<void> {
  // A server run with SIFT_AUTH=keys needs a key: over HTTP from SiftClient, over the WebSocket in connection_init.
  const sift = new SiftClient(server, { apiKey });
  const { predict } = await sift.request(SentimentDocument, { text: 'A gorgeous, witty and deeply moving film.' });
  console.log(`predict: ${predict.label} (${predict.score.toFixed(3)})${predict.cached ? ', from the cache' : ''}`);

  const { submitBatch } = await sift.request(SubmitTextsDocument, { texts: ['a dull film', 'a fine film', 'what a waste of time'] });
  console.log(`batch ${submitBatch.id}: ${submitBatch.total} rows`);

  // graphql-ws directly: any GraphQL client works; the generated document gives the result its type.
  // The first event is the batch as it is now (it may have finished already), the last its end.
  const ws = createClient({
    url: `${server.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: apiKey ? { authorization: `Bearer ${apiKey}` } : undefined,
  });
  try {
    for await (const result of ws.iterate<ProgressSubscription>({ query: print(ProgressDocument), variables: { id: submitBatch.id } })) {
      const { batch, rows } = result.data!.batchProgress;
      console.log(`  ${batch.status} ${batch.processed}/${batch.total} (${rows.length} new rows)`);
    }
    const { batch } = await sift.request(ResultsDocument, { id: submitBatch.id });
    for (const row of batch?.results ?? []) console.log(`row ${row.index}: ${row.prediction?.label ?? 'failed'}  ${row.text}`);
  } finally {
    await ws.dispose();
    await sift.close();
  }
}

// SIFT_URL as sift takes it: the server's root or its /graphql URL.
main((process.env.SIFT_URL ?? 'http://localhost:4000').replace(/\/+$/, '').replace(/\/graphql$/, ''), process.env.SIFT_API_KEY || undefined).catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
