/**
 * Preloaded into the API child the bench starts (`node --require dist/bench/event-loop-probe.js`),
 * so the bench can read that process's event-loop delay over exactly each timed round. The API's
 * own `/metrics` reports it over fixed windows and has no reset (a client must not change what
 * another reads), so the bench brings its own histogram into the process and asks it over the
 * child's IPC channel. Nothing here runs unless the process has one.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** What the bench sends: `reset` starts a new window, `read` reports the current one. */
export interface ProbeRequest {
  probe: 'event-loop';
  id: number;
  op: 'reset' | 'read';
}

/** What the probe answers, in ms, for either request (after a reset: the empty window). */
export interface ProbeReply {
  probe: 'event-loop';
  id: number;
  p50: number;
  p99: number;
  max: number;
}

if (process.send !== undefined) {
  // The same resolution as the API's /metrics, so the figures compare.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  process.on('message', (message: Partial<ProbeRequest>) => {
    if (message?.probe !== 'event-loop' || typeof message.id !== 'number') return;
    if (message.op === 'reset') delay.reset();
    const reply: ProbeReply = { probe: 'event-loop', id: message.id, p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) };
    process.send?.(reply);
  });
  // The channel must not keep the API alive once it is asked to stop (a 'message' listener refs it).
  process.channel?.unref();
}
