/**
 * `node --expose-gc dist/tests/support/upload-probe.js URL FILE`: uploads FILE (CSV) to the Sift
 * server at URL the way `sift batch` does (ServerConnection.upload), and prints the batch's row
 * count and the most memory held in ArrayBuffers meanwhile, with a garbage collection before each
 * sample, so what is counted is what the upload keeps, not garbage waiting for collection.
 */
import { createReadStream } from 'node:fs';
import { ServerConnection } from '../../src/cli/server-connection';

async function main(): Promise<void> {
  const [url, file] = process.argv.slice(2);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const connection = new ServerConnection(url);
  let peak = 0;
  const sample = () => {
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  };
  const sampler = setInterval(sample, 50);
  try {
    const answer = await connection.upload(createReadStream(file), 'text/csv', { textColumn: 'text', idColumn: 'id' });
    process.stdout.write(JSON.stringify({ total: answer.total, peakMb: peak / 1e6 }));
  } finally {
    clearInterval(sampler);
    await connection.close();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
