import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BatchDocument } from '../../src/client/generated/graphql';
import { QUEUED_HINT_MS } from '../../src/cli/commands/batch-commands';
import { eventually, freePort, startTestApi, type TestApi } from '../support/api';
import { redisAnswers } from '../../src/supervision/private-redis';
import { PROJECT_ROOT } from '../support/paths';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess } from '../support/worker-process';

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** A command running on a pseudo-terminal, as in a terminal window: what it shows, and keys to type. */
interface TerminalRun {
  screen(): string;
  type(keys: string): void;
  exited: Promise<number | null>;
}

/**
 * Runs `argv` on a pseudo-terminal through util-linux `script` (part of every Debian system), so
 * Ctrl-C is what a terminal makes of it: the line discipline sends SIGINT to the whole
 * foreground process group (npm, its shell and sift alike). `exec` leaves no shell of script's
 * own in between; `-e` makes script exit with the command's code.
 */
function inTerminal(argv: string[], cwd: string, extraEnv: Record<string, string> = {}): TerminalRun {
  // HOME: npx keeps its cache there.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? os.tmpdir(), TERM: 'xterm', npm_config_update_notifier: 'false', ...extraEnv };
  const child = spawn('script', ['-qefc', `exec ${argv.map(quote).join(' ')}`, '/dev/null'], { cwd, env });
  let screen = '';
  child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
  child.stderr.on('data', (d: Buffer) => (screen += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { screen: () => screen, type: (keys) => child.stdin.write(keys), exited };
}

/**
 * Ctrl-C in a terminal while `sift batch` follows a batch asks whether to cancel it; "y" cancels
 * it and sift exits 1 (CANCELLED), the documented code. The ways of running sift that hand its
 * code back are checked here. Plain `npx sift` is not among them where /bin/sh is dash (Debian,
 * Ubuntu): npx runs sift through `sh -c`, dash also receives the terminal's SIGINT and, once sift
 * has exited, kills itself with it, and npm then exits by SIGINT as well (130 in a shell) whatever
 * sift's code; sift cannot prevent that (see docs/cli.md).
 */
describe('sift batch interrupted in a terminal: cancel, and the exit code the shell sees', () => {
  let t: TestApi;
  let dir: string;
  beforeAll(async () => {
    // No worker: the batch stays queued until it is cancelled.
    t = await startTestApi({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' });
    dir = mkdtempSync(path.join(os.tmpdir(), 'sift-tty-'));
    writeFileSync(path.join(dir, 'in.csv'), 'text\na great movie\nan awful movie\n');
    // What npm makes of a dependency's bin: node_modules/.bin/sift, a link to bin/sift.js.
    symlinkSync(path.join(PROJECT_ROOT, 'bin/sift.js'), path.join(dir, 'sift'));
  });
  afterAll(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const launchers: [string, (args: string[]) => string[]][] = [
    ['node dist/src/cli/sift.js', (args) => [process.execPath, path.join(PROJECT_ROOT, 'dist/src/cli/sift.js'), ...args]],
    ['node_modules/.bin/sift (a link to bin/sift.js)', (args) => [path.join(dir, 'sift'), ...args]],
    // In the project's checkout, as its README has people run it.
    ['npx --script-shell=bash sift', (args) => ['npx', '--script-shell=bash', 'sift', ...args]],
  ];

  it.each(launchers)('%s: Ctrl-C asks, "y" cancels the batch, exit 1', async (_name, command) => {
    const output = path.join(dir, `out-${Date.now()}.csv`);
    const run = inTerminal(command(['batch', path.join(dir, 'in.csv'), output, '--url', t.api.url]), PROJECT_ROOT);
    await eventually(async () => /rows queued/.test(run.screen()), 20_000, 'the upload');
    const id = /Batch (\S+): 2 rows queued/.exec(run.screen())![1];
    run.type('\x03');
    await eventually(async () => run.screen().includes(`Cancel batch ${id}? [y/N]`), 10_000, 'the question');
    run.type('y\r');
    expect(await run.exited).toBe(1);
    expect(run.screen()).toContain(`Batch ${id} ended CANCELLED (0/2 succeeded, 0 from cache, 0 failed); 2 rows written to ${output} (2 of them not labelled: their error says so)`);
    expect((await t.client.request(BatchDocument, { id })).batch?.status).toBe('CANCELLED');
    // Rows the batch never labelled say so: blank, they looked labelled with nothing.
    const rows = readFileSync(output, 'utf8').trim().split('\r\n').slice(1);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/,"Not labelled: the batch ended \(cancelled or failed\) before this row ran, or had not reached it yet\."$/);
  }, 60_000);

  it('says it is uploading, and says once, 20 s into a batch nothing has started on, that a worker may be missing', async () => {
    const output = path.join(dir, `out-waiting-${Date.now()}.csv`);
    const run = inTerminal([process.execPath, path.join(PROJECT_ROOT, 'dist/src/cli/sift.js'), 'batch', path.join(dir, 'in.csv'), output, '--url', t.api.url], PROJECT_ROOT);
    await eventually(async () => /rows queued/.test(run.screen()), 20_000, 'the upload');
    expect(run.screen()).toContain(`Uploading ${path.join(dir, 'in.csv')}...`);
    const id = /Batch (\S+): 2 rows queued/.exec(run.screen())![1];
    // No worker runs here: before, the bar sat at QUEUED for ever without a word.
    await eventually(async () => run.screen().includes(`Batch ${id} has waited 20 s with no row done: is a worker running?`), QUEUED_HINT_MS + 10_000, 'the hint');
    run.type('\x03');
    await eventually(async () => run.screen().includes(`Cancel batch ${id}? [y/N]`), 10_000, 'the question');
    run.type('y\r');
    expect(await run.exited).toBe(1);
    expect(run.screen().match(/is a worker running\?/g)).toHaveLength(1);
  }, 60_000);

  it('Ctrl-C asks; when the batch ends before an answer, the question is withdrawn, said, and the command ends as for a finished batch', async () => {
    const output = path.join(dir, `out-ended-${Date.now()}.csv`);
    const run = inTerminal([process.execPath, path.join(PROJECT_ROOT, 'dist/src/cli/sift.js'), 'batch', path.join(dir, 'in.csv'), output, '--url', t.api.url], PROJECT_ROOT);
    await eventually(async () => /rows queued/.test(run.screen()), 20_000, 'the upload');
    const id = /Batch (\S+): 2 rows queued/.exec(run.screen())![1];
    run.type('\x03');
    await eventually(async () => run.screen().includes(`Cancel batch ${id}? [y/N]`), 10_000, 'the question');
    // No answer: a worker starts and the batch completes meanwhile.
    const worker = await startWorkerProcess({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer', SIFT_KEY_PREFIX: t.prefix });
    try {
      expect(await run.exited).toBe(0);
    } finally {
      await worker.stop();
    }
    expect(run.screen()).toContain(`Batch ${id} ended COMPLETED meanwhile: nothing to cancel.`);
    expect(run.screen()).toContain(`2 rows written to ${output}`);
    expect(readFileSync(output, 'utf8').trim().split('\r\n')).toHaveLength(3);
  }, 60_000);
});

/**
 * `sift up` (npm start) with a private Redis, stopped the ways a terminal stops it. Ctrl-C signals
 * the whole foreground group: the private redis-server runs in a group of its own, so it is not
 * gone before the API and the workers have drained, and is stopped last (it once died with the
 * keystroke, and the API said "Redis ... is not answering" on the way out). Closing the terminal
 * (SIGHUP) stops as cleanly, saying so, where Node's default exits without a word.
 */
describe('sift up with a private Redis, stopped from its terminal', () => {
  async function upEnv(): Promise<{ env: Record<string, string>; redisUrl: string }> {
    const redisUrl = `redis://127.0.0.1:${await freePort()}`;
    const env = { REDIS_URL: redisUrl, PORT: String(await freePort()), SIFT_WORKERS: '1', SIFT_METRICS_PORT: '0', SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer', SIFT_LOG_FORMAT: 'pretty' };
    return { env, redisUrl };
  }

  it('Ctrl-C: the API and the worker drain with Redis still there, then the private Redis stops; exit 0', async () => {
    const { env, redisUrl } = await upEnv();
    const run = inTerminal([process.execPath, path.join(PROJECT_ROOT, 'dist/src/cli/sift.js'), 'up'], PROJECT_ROOT, env);
    await eventually(async () => /worker ready/.test(run.screen()), 30_000, 'sift up and its worker');
    expect(run.screen()).toContain('started a private redis-server');
    run.type('\x03');
    expect(await run.exited).toBe(0);
    expect(run.screen()).toMatch(/SIGINT: /);
    expect(run.screen()).not.toMatch(/not answering|ERROR|WARN/);
    expect(await redisAnswers(redisUrl, 300)).toBe(false);
  }, 60_000);

  it('SIGHUP (the terminal closed): stops cleanly, saying so, and the private Redis with it; exit 0', async () => {
    const { env, redisUrl } = await upEnv();
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/src/cli/sift.js'), 'up'], { env: { ...process.env, ...env, SIFT_LOG_FORMAT: 'json' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await eventually(async () => /worker ready/.test(log), 30_000, 'sift up and its worker');
    child.kill('SIGHUP');
    expect(await exited).toBe(0);
    expect(log).toMatch(/"msg":"SIGHUP: /);
    expect(await redisAnswers(redisUrl, 300)).toBe(false);
  }, 60_000);
});
