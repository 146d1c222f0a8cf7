import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { startTestApi, type TestApi } from '../support/api';
import { startSift } from '../support/sift-cli';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

/**
 * A proxy in front of the API that passes everything through (a 103 Early Hints answer too), but
 * holds back the last piece of an upload until a results download of its batch begins, for at
 * most `holdMs`: a command line that follows the batch only after the upload's 202 then waits that
 * long, and the proxy notes which came first.
 */
function holdingProxy(target: string, holdMs: number) {
  const seen: string[] = [];
  let downloadBegan: () => void = () => undefined;
  const began = new Promise<void>((resolve) => (downloadBegan = resolve));
  const server = http.createServer((req, res) => {
    const upstream = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers, agent: false });
    upstream.on('information', (info) => {
      if (info.statusCode === 103) res.writeEarlyHints(info.headers as Record<string, string>);
    });
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    if (req.method === 'GET' && /\/results\.csv\?.*follow=true/.test(req.url!)) {
      seen.push('download');
      downloadBegan();
    }
    if (req.method !== 'POST') {
      req.pipe(upstream);
      return;
    }
    // The upload: its headers and every piece at once but the last, sent on once a download began
    // (or holdMs passed).
    upstream.flushHeaders();
    let held: Buffer | null = null;
    req.on('data', (piece: Buffer) => {
      if (held) upstream.write(held);
      held = piece;
    });
    req.on('end', () => {
      void Promise.race([began, new Promise((resolve) => setTimeout(resolve, holdMs))]).then(() => {
        seen.push('upload ended');
        upstream.end(held ?? undefined);
      });
    });
  });
  // Progress goes over a WebSocket: its upgrade is passed through as raw bytes.
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const { hostname, port } = new URL(target);
    const upstream = connect(Number(port), hostname, () => {
      const headers = req.rawHeaders.map((value, i) => (i % 2 === 0 ? `${value}: ` : `${value}\r\n`)).join('');
      upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers}\r\n`);
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  return {
    seen,
    url: new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('sift batch writes OUTPUT while it uploads', () => {
  let t: TestApi;
  let worker: WorkerProcess;
  let dir: string;
  beforeAll(async () => {
    const env = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_CHUNK_SIZE: '50' };
    t = await startTestApi(env);
    worker = await startWorkerProcess({ ...env, SIFT_KEY_PREFIX: t.prefix });
    dir = mkdtempSync(path.join(tmpdir(), 'sift-early-'));
  });
  afterAll(async () => {
    await worker.stop();
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('follows the results download from the id the server tells early, before the upload ends', async () => {
    const proxy = holdingProxy(t.api.url, 20_000);
    try {
      const input = path.join(dir, 'in.csv');
      writeFileSync(input, `id,text\n${Array.from({ length: 600 }, (_, i) => `r${i},a warm day number ${i}\n`).join('')}`);
      const output = path.join(dir, 'out.csv');
      const run = await startSift(['batch', input, output, '--id-column', 'id', '--url', await proxy.url, '--json']).exited;
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ status: 'COMPLETED', total: 600, succeeded: 600 });
      // The download began while the proxy still held the end of the upload back.
      expect(proxy.seen.slice(0, 2)).toEqual(['download', 'upload ended']);
      const lines = readFileSync(output, 'utf8').trim().split('\r\n');
      expect(lines[0]).toBe('id,text,label,score,score_cold,score_warm,score_hot,cached,error');
      expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual(Array.from({ length: 600 }, (_, i) => `r${i}`));
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
