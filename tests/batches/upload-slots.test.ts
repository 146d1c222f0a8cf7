import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BatchesDocument } from '../../src/client/generated/graphql';
import { UploadSlots } from '../../src/limits/upload-slots';
import { SiftMetrics } from '../../src/metrics/sift-metrics';
import { parsePrometheusText, sampleSum } from '../support/prometheus';
import { createTestKey, startTestApi, type TestApi } from '../support/api';
import { openUpload, send, upload } from '../support/open-upload';
import { startSift } from '../support/sift-cli';
import { tinyModelsDir } from '../support/tiny-models';

describe('uploads at once: SIFT_MAX_UPLOADS_PER_KEY and SIFT_MAX_UPLOADS', () => {
  let t: TestApi;
  let second: string;
  let third: string;
  beforeAll(async () => {
    t = await startTestApi({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer', SIFT_AUTH: 'keys', SIFT_MAX_UPLOADS_PER_KEY: '1', SIFT_MAX_UPLOADS: '2' });
    second = await createTestKey(t.prefix, 'second', ['batches']);
    third = await createTestKey(t.prefix, 'third', ['batches']);
  });
  afterAll(() => t.stop());

  it('refuses a key its next upload while it has as many in progress as allowed, then the server past its own limit, each with 429, Retry-After and no batch', async () => {
    const first = openUpload(t, t.apiKey!);
    expect(await first.reading).toBe('reading');

    const sameKey = await send(t, t.apiKey!);
    expect(sameKey).toMatchObject({ status: 429, retryAfter: '5', body: { error: { code: 'TOO_MANY_UPLOADS' } } });
    expect(sameKey.body.error!.message).toMatch(/1 uploads of this API key .* are in progress on this server already, the most SIFT_MAX_UPLOADS_PER_KEY allows; nothing of this one was read\. Send it again once one of them has finished\./);

    // Another key has slots of its own, up to the server's limit.
    const other = openUpload(t, second);
    expect(await other.reading).toBe('reading');
    const pastServer = await send(t, third);
    expect(pastServer).toMatchObject({ status: 429, retryAfter: '5', body: { error: { code: 'TOO_MANY_UPLOADS' } } });
    expect(pastServer.body.error!.message).toMatch(/already reads 2 uploads, the most SIFT_MAX_UPLOADS allows/);
    // The operator is told who holds them.
    expect(t.logs.join('\n')).toMatch(/uploads refused: this API process reads as many as SIFT_MAX_UPLOADS allows, for key:\S+ 1, key:\S+ 1/);

    // Ending an upload gives its slot back, to its key and to the server.
    expect(await first.finish()).toMatchObject({ status: 202 });
    expect(await send(t, third)).toMatchObject({ status: 202 });
    expect(await send(t, t.apiKey!)).toMatchObject({ status: 202 });
    expect(await other.finish()).toMatchObject({ status: 202 });

    // Only the uploads answered 202 made batches: 2 for the first key.
    expect((await t.client.request(BatchesDocument, { first: 10 })).batches.edges).toHaveLength(2);
  });

  it("answers what the request's headers and query refuse first, whatever the slots", async () => {
    const held = openUpload(t, second);
    expect(await held.reading).toBe('reading');
    // `second` is at its limit: these are refused for what they are, not for the slot.
    expect(await send(t, second, 'text\na\n', '?bogus=1')).toMatchObject({ status: 400, body: { error: { code: 'BAD_BATCH_OPTIONS' } } });
    expect(await send(t, second, 'text\na\n', '?model=nope')).toMatchObject({ status: 400, body: { error: { code: 'UNKNOWN_MODEL' } } });
    expect(await send(t, second, 'text\na\n', '?priority=HIGH')).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect(await send(t, second)).toMatchObject({ status: 429 });
    expect(await held.finish()).toMatchObject({ status: 202 });
  });

  it('gives the slot of a refused upload back too', async () => {
    const bad = await send(t, t.apiKey!, 'no text column\nx\n');
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'MISSING_COLUMN' } } });
    expect(await send(t, t.apiKey!)).toMatchObject({ status: 202 });
  });

  it('sift batch waits out the refusal and sends its file again once a slot is free', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sift-upload-slots-'));
    try {
      const input = path.join(dir, 'in.csv');
      writeFileSync(input, 'text\none\ntwo\n');
      const held = openUpload(t, t.apiKey!);
      expect(await held.reading).toBe('reading');
      const sift = startSift(['batch', input, '--no-wait', '--url', t.api.url, '--api-key', t.apiKey!], { SIFT_RECONNECT_SECONDS: '60' });
      await sift.waitForStderr(/The upload of .*in\.csv failed in passing: 1 uploads of this API key .* are in progress/);
      expect(await held.finish()).toMatchObject({ status: 202 });
      const run = await sift.exited;
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/Uploaded .*in\.csv again/);
      expect(run.stdout).toMatch(/[0-9a-z]+-[0-9a-f]{12}/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sift batch says it gave up once SIFT_RECONNECT_SECONDS ran out, exit 3 (the server busy, not the input wrong)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sift-upload-slots-'));
    const held = openUpload(t, t.apiKey!);
    try {
      const input = path.join(dir, 'in.csv');
      writeFileSync(input, 'text\none\n');
      expect(await held.reading).toBe('reading');
      const run = await startSift(['batch', input, '--no-wait', '--url', t.api.url, '--api-key', t.apiKey!], { SIFT_RECONNECT_SECONDS: '3' }).exited;
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/SIFT_MAX_UPLOADS_PER_KEY allows; .* sift sent it again for 3 s \(SIFT_RECONNECT_SECONDS\) and gave up; run the command again later\./);
      // Waiting turned off: it says so, and does not claim to send it again.
      const once = await startSift(['batch', input, '--no-wait', '--url', t.api.url, '--api-key', t.apiKey!], { SIFT_RECONNECT_SECONDS: '0' }).exited;
      expect(once.code).toBe(3);
      expect(once.stderr).toMatch(/sift does not send it again with SIFT_RECONNECT_SECONDS=0; run the command again later\./);
      expect(once.stderr).not.toMatch(/Sending it again/);
    } finally {
      expect(await held.finish()).toMatchObject({ status: 202 });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an upload that waited on its idempotency key', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer', SIFT_MAX_UPLOADS_PER_KEY: '2', SIFT_UPLOAD_IDLE_TIMEOUT_MS: '30000' });
  });
  afterAll(() => t.stop());

  it('gives its slot back at once when its client left while it waited for the first submit', async () => {
    const query = '?idempotencyKey=left-while-waiting';
    const first = openUpload(t, 'none', query);
    expect(await first.reading).toBe('reading');
    // The retry waits on the first submit's claim, its body unread, and its client leaves meanwhile.
    const retry = upload(t, 'none', false, query);
    retry.answer.catch(() => undefined);
    retry.request.write('text\nthe first row\n');
    await new Promise((resolve) => setTimeout(resolve, 500));
    retry.request.destroy();
    expect(await first.finish()).toMatchObject({ status: 202 });
    // Before, the retry read on for the idle timeout (30 s here), holding one of the two slots.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const [a, b] = [openUpload(t, 'none'), openUpload(t, 'none')];
      const both = (await a.reading) === 'reading' && (await b.reading) === 'reading';
      await Promise.all([a.finish(), b.finish()]);
      if (both) break;
      if (Date.now() > deadline) throw new Error('the key could not hold two uploads at once 10 s after its retry\'s client left');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }, 30_000);
});

describe('UploadSlots', () => {
  it('counts each key and the whole, and frees a slot once however often it is given back', () => {
    const slots = new UploadSlots({ perKey: 2, total: 3 });
    const a1 = slots.take('a');
    slots.take('a');
    expect(() => slots.take('a')).toThrow(/SIFT_MAX_UPLOADS_PER_KEY/);
    const b1 = slots.take('b');
    expect(() => slots.take('c')).toThrow(/SIFT_MAX_UPLOADS allows/);
    a1();
    a1();
    expect(slots.inProgress).toBe(2);
    slots.take('c');
    expect(() => slots.take('d')).toThrow(/SIFT_MAX_UPLOADS allows/);
    b1();
    slots.take('a');
    expect(() => slots.take('a')).toThrow(/SIFT_MAX_UPLOADS_PER_KEY/);
    expect(slots.inProgress).toBe(3);
  });

  it('exports the uploads in progress and the refusals by limit', async () => {
    const metrics = new SiftMetrics(true);
    const slots = new UploadSlots({ perKey: 1, total: 2 }, metrics.uploads);
    const read = async () => parsePrometheusText(await metrics.registry!.metrics());
    let exposition = await read();
    expect(sampleSum(exposition, 'sift_uploads_in_progress')).toBe(0);
    expect(sampleSum(exposition, 'sift_uploads_refused_total', { limit: 'key' })).toBe(0);
    expect(sampleSum(exposition, 'sift_uploads_refused_total', { limit: 'server' })).toBe(0);
    const a = slots.take('a');
    slots.take('b');
    expect(() => slots.take('a')).toThrow(/SIFT_MAX_UPLOADS_PER_KEY/);
    expect(() => slots.take('c')).toThrow(/SIFT_MAX_UPLOADS allows/);
    expect(() => slots.take('d')).toThrow(/SIFT_MAX_UPLOADS allows/);
    exposition = await read();
    expect(sampleSum(exposition, 'sift_uploads_in_progress')).toBe(2);
    expect(sampleSum(exposition, 'sift_uploads_refused_total', { limit: 'key' })).toBe(1);
    expect(sampleSum(exposition, 'sift_uploads_refused_total', { limit: 'server' })).toBe(2);
    a();
    a();
    expect(sampleSum(await read(), 'sift_uploads_in_progress')).toBe(1);
  });
});
