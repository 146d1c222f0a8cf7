import { Gauge } from 'prom-client';
import type { MetricsRegistry } from './registry';

/**
 * What the API's WebSockets hold now:
 * - `sift_websocket_connections_active`: graphql-ws connections that sent `connection_init`
 *   and are not closed yet (accepted or still being checked);
 * - `sift_subscriptions_active`: operations that are running as subscriptions (a `batchProgress`)
 *   on those connections.
 * Each socket and each operation is counted once and let go once, whatever ends it (the client, the
 * server, an error, the socket closing), so the gauges come back to 0 when everyone has left.
 */
export class SocketMetrics {
  private readonly gauges: { connections: Gauge; subscriptions: Gauge } | null;
  /** Per open connection, its running subscriptions' ids. */
  private readonly open = new WeakMap<object, Set<string>>();

  constructor(registry: MetricsRegistry) {
    this.gauges = registry && {
      connections: new Gauge({ name: 'sift_websocket_connections_active', help: 'GraphQL WebSocket connections open now (connection_init received).', registers: [registry] }),
      subscriptions: new Gauge({ name: 'sift_subscriptions_active', help: 'GraphQL subscriptions running now over WebSocket.', registers: [registry] }),
    };
  }

  /** A socket sent connection_init; `socket` is its graphql-ws context, the same object until it closes. */
  connected(socket: object): void {
    if (!this.gauges || this.open.has(socket)) return;
    this.open.set(socket, new Set());
    this.gauges.connections.inc();
  }

  /** A subscription `id` started running on `socket`. */
  subscribed(socket: object, id: string): void {
    const running = this.open.get(socket);
    if (!this.gauges || !running || running.has(id)) return;
    running.add(id);
    this.gauges.subscriptions.inc();
  }

  /** Operation `id` on `socket` ended (completed, failed, or ended by its client); nothing if it was not a running subscription. */
  ended(socket: object, id: string): void {
    if (this.gauges && this.open.get(socket)?.delete(id)) this.gauges.subscriptions.dec();
  }

  /** `socket` closed: it and whatever still ran on it are let go. */
  closed(socket: object): void {
    const running = this.open.get(socket);
    if (!this.gauges || !running) return;
    this.open.delete(socket);
    if (running.size > 0) this.gauges.subscriptions.dec(running.size);
    this.gauges.connections.dec();
  }
}
