import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { logBatchEvents } from '../../src/batches/batch-event-log';
import { BatchEvents } from '../../src/batches/batch-events';
import type { BatchSnapshot } from '../../src/batches/batch-types';
import { createLogger } from '../../src/logger';
import { requestContext } from '../../src/logging/request-context';
import { parseLogLines } from '../support/log-lines';
import { PROJECT_ROOT } from '../support/paths';

const ANSI = /\u001b\[\d+m/;

function snapshot(overrides: Partial<BatchSnapshot>): BatchSnapshot {
  return {
    id: 'b-1',
    owner: 'local',
    status: 'COMPLETED',
    priority: 'NORMAL',
    model: 'tiny-hashed',
    modelVersion: 'v1',
    labels: ['cold', 'warm'],
    total: 1000,
    processed: 1000,
    succeeded: 990,
    failed: 10,
    cached: 300,
    createdAt: new Date('2026-12-03T10:00:00.000Z'),
    startedAt: new Date('2026-12-03T10:00:01.000Z'),
    finishedAt: new Date('2026-12-03T10:00:04.000Z'),
    rowsPerSecond: 333.3,
    etaSeconds: 0,
    error: null,
    labelCounts: [],
    ...overrides,
  };
}

/** A terminal's worth of lines: what a logger in `format` wrote for one batch's events. */
function batchEventLines(format: 'pretty' | 'json', colors = false): string[] {
  const written: string[] = [];
  const logger = createLogger('info', 'sift', (line) => written.push(line), { role: 'worker', format, colors });
  const events = new BatchEvents();
  const stop = logBatchEvents(events, logger.child('batches'));
  requestContext.run({ requestId: 'req-7' }, () => events.emit('submitted', { id: 'b-1', model: 'tiny-hashed', rows: 1000, by: 'admin' }));
  events.emit('started', 'b-1');
  events.emit('ended', { status: 'COMPLETED', batch: snapshot({}) });
  events.emit('ended', { status: 'FAILED', batch: snapshot({ id: 'b-2', status: 'FAILED', processed: 500, error: 'Chunk 1 kept failing: boom' }) });
  stop();
  events.emit('started', 'b-3');
  return written;
}

describe('pretty logs', () => {
  it('one readable line per batch event: time, level, role, pid, component, message, and the request id', () => {
    const written = batchEventLines('pretty');
    expect(written).toHaveLength(4);
    for (const line of written) {
      expect(line).toMatch(/^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] INFO: worker \d+ \[batches\] batch b-\d [^\n]*\n$/);
      expect(line).not.toMatch(ANSI);
      expect(line).not.toContain('{');
    }
    expect(written[0]).toContain(` INFO: worker ${process.pid} [batches] batch b-1 submitted: 1000 rows for model tiny-hashed, by admin requestId=req-7\n`);
    expect(written[1]).toMatch(/\] batch b-1 started\n$/);
    expect(written[2]).toMatch(/\] batch b-1 completed: 1000 of 1000 rows processed \(990 succeeded, 10 failed, 300 from the cache\) in 4 s \(250 rows\/s\)\n$/);
    expect(written[3]).toMatch(/\] batch b-2 failed: 500 of 1000 rows processed .* in 4 s \(125 rows\/s\): Chunk 1 kept failing: boom\n$/);
  });

  it('the same events as JSON carry their fields', () => {
    const lines = parseLogLines(batchEventLines('json'));
    expect(lines.map((line) => line.event)).toEqual(['batch.submitted', 'batch.started', 'batch.completed', 'batch.failed']);
    expect(lines[0]).toMatchObject({ level: 'info', role: 'worker', pid: process.pid, component: 'batches', requestId: 'req-7', batchId: 'b-1', rows: 1000, model: 'tiny-hashed', by: 'admin' });
    expect(lines[1].requestId).toBeUndefined();
    expect(lines[2]).toMatchObject({ batchId: 'b-1', rows: 1000, processed: 1000, succeeded: 990, failed: 10, cached: 300, seconds: 4, rowsPerSecond: 250 });
    expect(lines[2].error).toBeUndefined();
    expect(lines[3]).toMatchObject({ batchId: 'b-2', processed: 500, seconds: 4, rowsPerSecond: 125, error: 'Chunk 1 kept failing: boom' });
  });

  it('colours only when asked (on a terminal)', () => {
    expect(batchEventLines('pretty', true).every((line) => ANSI.test(line))).toBe(true);
  });

  it("a fault's stack follows its line, indented, in pretty lines; in JSON it is the err field", () => {
    const pretty: string[] = [];
    const json: string[] = [];
    const fault = new Error('the disk is on fire');
    createLogger('info', 'http', (line) => pretty.push(line), { role: 'api', format: 'pretty' }).error('GET /x failed: the disk is on fire', { err: fault });
    createLogger('info', 'http', (line) => json.push(line), { role: 'api', format: 'json' }).error('GET /x failed: the disk is on fire', { err: fault });
    const [first, ...stack] = pretty[0].trimEnd().split('\n');
    expect(first).toMatch(/ ERROR: api \d+ \[http\] GET \/x failed: the disk is on fire$/);
    expect(stack[0]).toBe('    Error: the disk is on fire');
    expect(stack[1]).toMatch(/^ {4}\s*at /);
    const [line] = parseLogLines(json);
    expect(line.err).toMatchObject({ type: 'Error', message: 'the disk is on fire', stack: fault.stack });
  });

  it('without SIFT_LOG_FORMAT, a process writes pretty lines when stderr is a terminal and JSON lines otherwise', () => {
    const logger = path.join(PROJECT_ROOT, 'dist/src/logger.js');
    const script = (terminal: boolean) =>
      `${terminal ? "Object.defineProperty(process.stderr, 'isTTY', { value: true });" : ''} require(${JSON.stringify(logger)}).createLogger('info', 'sift', undefined, { role: 'api' }).info('hello');`;
    const run = (terminal: boolean) => spawnSync(process.execPath, ['-e', script(terminal)], { encoding: 'utf8' });
    const onTerminal = run(true);
    expect(onTerminal.stdout).toBe('');
    expect(onTerminal.stderr).toMatch(ANSI);
    expect(onTerminal.stderr.replace(/\u001b\[\d+m/g, '')).toMatch(/^\[[\d\-T:.Z]+\] INFO: api \d+ \[sift\] hello\n$/);
    const elsewhere = run(false);
    expect(elsewhere.stdout).toBe('');
    expect(parseLogLines(elsewhere.stderr)).toEqual([expect.objectContaining({ level: 'info', role: 'api', component: 'sift', msg: 'hello', pid: elsewhere.pid })]);
  });
});
