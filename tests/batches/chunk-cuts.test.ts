import { BatchResultsDocument } from '../../src/client/generated/graphql';
import { startTestApi, type TestApi } from '../support/api';
import { READ_BYTES } from '../../src/batches/batch-store';
import { followResults } from '../../src/batches/result-follower';
import type { ResultChunk } from '../../src/batches/row-codec';
import { redisKeys } from '../../src/redis/keys';
import { finished } from '../support/batches';
import { range } from '../support/progress';
import { readAll, startTestRelay, type TestRelay } from '../support/relay';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };
const CHUNK_SIZE = 10;
const CHUNK_CHARACTERS = 600;
const ROWS = 120;

// Runs of short texts (full chunks of 10 rows) and of texts of 50 to 195 characters (chunks cut
// after a few rows), so that cut chunks fall between full ones; the tiny model reads 200 characters.
const TEXTS = range(ROWS).map((i) => {
  const long = Math.floor(i / 25) % 2 === 1;
  return long ? `${i} ${'word '.repeat(10 + ((i * 37) % 28))}`.trim() : `short ${i}`;
});
const IDS = range(ROWS).map((i) => `r${i}`);

/** Each chunk's rows as the API cuts them: at CHUNK_SIZE rows, or once the ids and texts reach CHUNK_CHARACTERS. */
function expectedChunkRows(): number[] {
  const chunks: number[] = [];
  let rows = 0;
  let characters = 0;
  TEXTS.forEach((text, i) => {
    rows++;
    characters += IDS[i].length + text.length;
    if (rows >= CHUNK_SIZE || characters >= CHUNK_CHARACTERS) {
      chunks.push(rows);
      rows = 0;
      characters = 0;
    }
  });
  if (rows > 0) chunks.push(rows);
  return chunks;
}

/**
 * A chunk is cut short of SIFT_CHUNK_SIZE rows once its ids and texts reach SIFT_CHUNK_CHARACTERS,
 * so a chunk of long rows stays small. Every reader that finds rows by chunk (paging, resuming
 * progress from a row, downloads) must then find them through the batch's cuts, not its chunk size.
 */
describe('chunks cut short by their characters', () => {
  let t: TestApi;
  let r: TestRelay;
  let worker: WorkerProcess;
  let id: string;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: String(CHUNK_SIZE), SIFT_CHUNK_CHARACTERS: String(CHUNK_CHARACTERS) });
    r = startTestRelay(t.prefix);
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    const csv = `id,text\n${TEXTS.map((text, i) => `${IDS[i]},${text}`).join('\n')}\n`;
    const response = await fetch(`${t.api.url}/batches?idColumn=id`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
    expect(response.status).toBe(202);
    id = ((await response.json()) as { id: string }).id;
    expect(await finished(t.client, id)).toMatchObject({ status: 'COMPLETED', total: ROWS, succeeded: ROWS });
  });
  afterAll(async () => {
    await worker.stop();
    await r.close();
    await t.stop();
  });

  it('cuts a chunk at its characters, and the batch record knows where every chunk begins', async () => {
    const rows = expectedChunkRows();
    // Some chunks full, some cut, the cut ones between full ones.
    expect(rows.filter((n) => n === CHUNK_SIZE).length).toBeGreaterThan(3);
    expect(rows.slice(0, -1).filter((n) => n < CHUNK_SIZE).length).toBeGreaterThan(5);
    const state = await r.store.progress(id);
    expect(state!.layout.chunks).toBe(rows.length);
    // The record counts the cuts; which they are is kept beside it, so reads of the record (every
    // snapshot, every page of the batch list) never carry them.
    const cut = rows.slice(0, -1).filter((n) => n < CHUNK_SIZE).length;
    const keys = redisKeys(t.prefix);
    expect(await r.redis.hget(keys.batch(id), 'cutChunks')).toBe(String(cut));
    expect((await r.redis.get(keys.batchChunkCuts(id)))!.split(',')).toHaveLength(cut);
    expect(Object.values(await r.redis.hgetall(keys.batch(id))).every((value) => value.length < 100)).toBe(true);
    expect(await r.redis.ttl(keys.batchChunkCuts(id))).toBeGreaterThan(0);
    let first = 0;
    rows.forEach((n, chunk) => {
      expect(state!.layout.firstRow(chunk)).toBe(first);
      first += n;
    });
  });

  it('pages of results from any offset hold exactly the rows asked for', async () => {
    for (const limit of [1, 7, 23]) {
      for (let offset = 0; offset < ROWS + 3; offset += 1) {
        const { batch } = await t.client.request(BatchResultsDocument, { id, offset, limit });
        expect({ offset, limit, ids: batch!.results.map((row) => row.id) }).toEqual({ offset, limit, ids: IDS.slice(offset, offset + limit) });
      }
    }
  });

  it('downloads hold every row once, in input order, echoed or not, followed or not', async () => {
    for (const query of ['', '?echo=false', '?follow=true', '?echo=false&follow=true']) {
      const response = await fetch(`${t.api.url}/batches/${id}/results.jsonl${query}`);
      const rows = (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as { index: number; id?: string; label: string | null });
      expect({ query, indices: rows.map((row) => row.index) }).toEqual({ query, indices: range(ROWS) });
      expect(rows.every((row) => row.label !== null)).toBe(true);
      if (!query.includes('echo=false')) expect(rows.map((row) => row.id)).toEqual(IDS);
    }
    const csv = await (await fetch(`${t.api.url}/batches/${id}/results.csv`)).text();
    expect(csv.trim().split('\r\n').slice(1).map((line) => line.split(',')[1])).toEqual(IDS);
  });

  it('progress resumed from any row sends exactly the rows from there, within a cut chunk too', async () => {
    for (const fromRow of range(ROWS + 1)) {
      const events = await readAll(await r.relay.watch(id, { fromRow, withRows: true }));
      expect({ fromRow, indices: events.flatMap((event) => event.rows.map((row) => row.index)) }).toEqual({ fromRow, indices: range(fromRow, ROWS) });
    }
  });

  it('a live subscriber without fromRow gets the rows from the first chunk not yet recorded, past cut chunks too', async () => {
    const rows = 2000;
    worker.pause();
    const csv = `id,text\n${range(rows).map((i) => `b${i},${TEXTS[i % ROWS]}`).join('\n')}\n`;
    const response = await fetch(`${t.api.url}/batches?idColumn=id`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
    expect(response.status).toBe(202);
    const second = ((await response.json()) as { id: string }).id;
    const { layout } = (await r.store.progress(second))!;
    // The first chunk that begins elsewhere than its number times the chunk size: a cut chunk comes before it.
    const pastCut = range(layout.chunks).find((chunk) => layout.firstRow(chunk) !== chunk * CHUNK_SIZE)!;
    expect(pastCut).toBeGreaterThan(0);
    // Frozen with some chunks past a cut recorded and the batch under way, so the subscription comes mid-batch.
    await worker.runUntil(async () => ((await r.store.progress(second))?.contiguousChunks ?? 0) >= pastCut, 'chunks past a cut to be recorded', { sliceMs: 5 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const state = (await r.store.progress(second))!;
    expect(state.snapshot.status).not.toBe('COMPLETED');
    const events = readAll(await r.relay.watch(second, { fromRow: null, withRows: true }));
    worker.resume();
    const indices = (await events).flatMap((event) => event.rows.map((row) => row.index));
    expect(indices).toEqual(range(layout.firstRow(state.contiguousChunks), rows));
  });
});

/**
 * A download reads its chunks a few at a time, and no more than READ_BYTES of them (one chunk at
 * least): chunks of long, escaped rows are megabytes each, and four or eight at once held hundreds
 * of MB in the API while it formatted them.
 */
describe('downloads read chunks within a byte budget', () => {
  let t: TestApi;
  let r: TestRelay;
  let worker: WorkerProcess;
  let id: string;
  const rows = 4000;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '1000' });
    r = startTestRelay(t.prefix);
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    // Texts of lone surrogates, six characters of JSON each: the API keeps 402 of each text, so a
    // 1,000-row chunk is about 2.4 MB stored, and four of them more than READ_BYTES.
    const line = `${JSON.stringify({ text: '\ud800'.repeat(500) })}\n`;
    const response = await fetch(`${t.api.url}/batches`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: line.repeat(rows) });
    expect(response.status).toBe(202);
    id = ((await response.json()) as { id: string }).id;
    expect(await finished(t.client, id)).toMatchObject({ status: 'COMPLETED', total: rows });
  });
  afterAll(async () => {
    await worker.stop();
    await r.close();
    await t.stop();
  });

  /** Each page's chunks, and the bytes they hold stored: their outcomes, and their input `withInput`. */
  async function pagesOf(pages: AsyncIterable<ResultChunk[]>, withInput: boolean): Promise<{ chunks: number[]; bytes: number }[]> {
    const read: { chunks: number[]; bytes: number }[] = [];
    for await (const page of pages) {
      const chunks = page.map((chunk) => chunk.first / 1000);
      read.push({ chunks, bytes: (await r.store.storedChunkBytes(id, chunks, withInput)).reduce((a, b) => a + b, 0) });
    }
    return read;
  }

  it('a download reads chunks a few at a time, within READ_BYTES, and every one of them', async () => {
    const bytes = await r.store.storedChunkBytes(id, range(4));
    expect(Math.min(...bytes)).toBeGreaterThan(READ_BYTES / 4);
    for (const withInput of [true, false]) {
      const plain = await pagesOf(r.store.allResults(id, rows, withInput), withInput);
      const followed = await pagesOf(followResults(r.store, id, rows, withInput, new AbortController().signal), withInput);
      for (const pages of [plain, followed]) {
        expect(pages.flatMap((page) => page.chunks)).toEqual(range(4));
        for (const page of pages) if (page.chunks.length > 1) expect(page.bytes).toBeLessThanOrEqual(READ_BYTES);
        // Without the input, what is read is the outcomes alone, a few KB a chunk: all four at once.
        if (!withInput) expect(pages).toHaveLength(1);
      }
    }
    const lines = (await (await fetch(`${t.api.url}/batches/${id}/results.jsonl`)).text()).trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { index: number }).index)).toEqual(range(rows));
  });
});
