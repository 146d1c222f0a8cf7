/**
 * `node dist/bench/peer-pauses.js`: the Celery peer alone, with no Sift process up, on the file
 * section's 200,000-row file, BENCH_PEER_PAUSES_RUNS (6) times after a warm-up: each run's seconds,
 * CPU seconds (its client, its worker's processes, Redis) and idle seconds (spans of 0.3 s or more
 * in which neither its client nor its workers used any CPU). It shows whether the pauses the file
 * section's peer rounds hold are the peer's own (see docs/performance.md on them) or the bench's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeBatchCsv } from './batch-files';
import { peerCpuSeconds, peerMissing, startCeleryPeer } from './celery-peer';
import { Cleanup } from './cleanup';
import { readSettings } from './settings';
import { runBench } from './two-builds';

const RUNS = Number(process.env.BENCH_PEER_PAUSES_RUNS ?? 6);
if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 50) throw new Error(`BENCH_PEER_PAUSES_RUNS must be a whole number from 1 to 50, not ${JSON.stringify(process.env.BENCH_PEER_PAUSES_RUNS)}`);

const cleanup = new Cleanup();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup.runAll().finally(() => process.exit(130)));

runBench(async () => {
  const settings = readSettings();
  if (settings.peer === null) throw new Error('BENCH_PEER=off: there is no peer to run');
  const missing = await peerMissing(settings.peer);
  if (missing !== null) throw new Error(`the Celery peer cannot run here: ${missing}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'sift-peer-pauses-'));
  try {
    const file = await writeBatchCsv(path.join(dir, 'file.csv'), settings.fileRows, 0.3);
    const peer = await startCeleryPeer(settings.peer, file, cleanup, dir, (line) => console.error(line));
    const rows: string[] = [];
    try {
      for (let run = 1; run <= RUNS; run++) {
        const r = await peer.run(file, run);
        const cpu = peerCpuSeconds(r);
        rows.push(`${String(run).padStart(3)}  ${Math.round(r.rowsPerSecond).toLocaleString('en-US').padStart(7)}  ${r.seconds.toFixed(2).padStart(7)}  ${cpu.toFixed(2).padStart(7)}  ${r.idleSeconds.toFixed(2).padStart(6)}  ${(r.seconds - r.idleSeconds).toFixed(2).padStart(12)}`);
      }
    } finally {
      await peer.stop();
    }
    console.log(`The Celery peer alone (${settings.peer.workers} prefork workers) on a ${file.rows}-row CSV (${file.repeatedPct.toFixed(1)}% repeated texts), cold cache, ${RUNS} runs after a warm-up;`);
    console.log('seconds = its client.py from spawn to exit; cpu = CPU seconds of its client, workers and Redis; idle = seconds in which neither its client nor its workers used any CPU, in spans of 0.3 s or more, read every 100 ms');
    console.log('run   rows/s  seconds      cpu    idle  seconds-idle');
    for (const row of rows) console.log(row);
  } finally {
    await cleanup.runAll();
    rmSync(dir, { recursive: true, force: true });
  }
});
