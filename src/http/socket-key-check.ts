import { hasScope, type Principal } from '../auth/principal';
import { ErrorCodes, isSiftError } from '../errors';

/** An open WebSocket as the key check sees it: the Authorization value of its connection_init. */
export interface KeyedSocket {
  authorization?: unknown;
  /** Who the socket's key was when last checked: a scope it had and the key no longer has ends the socket. */
  principal?: Principal;
  request: { socket: { remoteAddress?: string } };
}

export interface SocketKeyCheckOptions {
  /** Verifies an Authorization value (GraphQLGate.identify): throws UNAUTHENTICATED for a revoked or unknown key. */
  verify(authorization: unknown, clientAddress: string | undefined): Promise<unknown>;
  /** Told of each socket whose key is no longer valid, with the refusal's message; it closes the socket. */
  revoked(socket: KeyedSocket, message: string): void;
  /**
   * Told of each socket whose key lost a scope the socket had (an operator's `sift keys update`),
   * with a message naming it; it closes the socket (its subscriptions may need the scope, and a
   * client that connects again is checked with the key as it is now).
   */
  narrowed?(socket: KeyedSocket, message: string): void;
  /** How often every open socket's key is checked again. */
  everyMs: number;
}

/**
 * The keys of open WebSockets, checked again every `everyMs`. A key is checked when its socket
 * opens and at each operation it starts (graphql-ws.ts), but a subscription already running, a
 * batch's progress say, would otherwise go on streaming to a revoked key until the batch ends.
 * Sockets that share a key cost one check a round (and the authenticator caches each key briefly,
 * so that is at most one Redis read); a check that fails for another reason, such as Redis not
 * answering, closes nothing. A round still running when the next is due is not doubled.
 */
export class SocketKeyCheck {
  private readonly sockets = new Set<KeyedSocket>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly options: SocketKeyCheckOptions) {}

  add(socket: KeyedSocket): void {
    this.sockets.add(socket);
    if (this.timer === null) {
      this.timer = setInterval(() => void this.checkAll(), this.options.everyMs);
      this.timer.unref();
    }
  }

  delete(socket: KeyedSocket): void {
    this.sockets.delete(socket);
    if (this.sockets.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One round: every distinct key of the open sockets verified once; the sockets of a refused one told to `revoked`. */
  checkAll(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = null));
    return this.running;
  }

  private async round(): Promise<void> {
    const byKey = new Map<unknown, KeyedSocket[]>();
    for (const socket of this.sockets) {
      const group = byKey.get(socket.authorization);
      if (group) group.push(socket);
      else byKey.set(socket.authorization, [socket]);
    }
    await Promise.all(
      [...byKey].map(async ([authorization, group]) => {
        try {
          const now = await this.options.verify(authorization, group[0].request.socket.remoteAddress);
          for (const socket of group) {
            const lost = socket.principal?.scopes.filter((scope) => !hasScope(now as Principal, scope)) ?? [];
            if (lost.length > 0 && this.sockets.has(socket)) this.options.narrowed?.(socket, `The API key no longer has the ${lost.join(', ')} scope${lost.length > 1 ? 's' : ''}; connect again.`);
          }
        } catch (error) {
          if (!isSiftError(error) || error.code !== ErrorCodes.UNAUTHENTICATED) return;
          for (const socket of group) if (this.sockets.has(socket)) this.options.revoked(socket, error.message);
        }
      }),
    );
  }
}
