/**
 * The API key the page sends to a server that runs with SIFT_AUTH=keys. Nothing here runs until a
 * server answers 401 (or closes the socket with 4401): with auth off the page never asks.
 *
 * The key is kept in sessionStorage: it lasts as long as the tab (a reload keeps it; another tab,
 * or the browser started again, asks again) and is never written to localStorage, which every tab
 * and every later visit would read. It goes in the Authorization header of every request and in
 * the WebSocket's connection_init, never in a URL.
 */

/** Where the key is kept in sessionStorage (tests/support/browser.ts sets it under this name too). */
export const STORAGE_NAME = 'sift.apiKey';

/** What the key form shows: the server's words, and whether a key was sent and refused. */
export interface KeyPrompt {
  message: string;
  /** True when a key was sent and refused (mistyped, revoked); false when none was sent. */
  refused: boolean;
}

/** The close code a Sift server gives a WebSocket without a valid key. */
export const UNAUTHORIZED_CLOSE_CODE = 4401;

/**
 * The server's message for a missing or refused key, for someone at the page: without the close
 * frame's "Unauthorized: " and without the sentence on how to send a key in a header, which the
 * page does itself (src/auth/authenticator.ts words it).
 */
export function keyMessage(message: string): string {
  return message.replace(/^Unauthorized: /, '').replace(/\s*Send "Authorization[\s\S]*$/, '').trim() || 'This server needs an API key.';
}

class ApiKeyHolder extends EventTarget {
  /** Used when sessionStorage cannot be (storage turned off): the key then lasts as long as the page. */
  private memory: string | null = null;
  private asking: KeyPrompt | null = null;
  private changes = 0;

  /** The key the page sends, or null. */
  get key(): string | null {
    try {
      return sessionStorage.getItem(STORAGE_NAME);
    } catch {
      return this.memory;
    }
  }

  /** Set when the page must ask for a key (the app shows the form instead of the view). */
  get prompt(): KeyPrompt | null {
    return this.asking;
  }

  /** Changes whenever the key does: the app makes its view again, which reads everything again with it. */
  get generation(): number {
    return this.changes;
  }

  /** Keeps `key` for this tab and sends it from now on. */
  use(key: string): void {
    this.store(key);
    this.asking = null;
    this.changed();
  }

  /** Forgets the key: the page sends none, and asks again if the server needs one. */
  forget(): void {
    this.store(null);
    this.changed();
  }

  /**
   * A request sent with `sent` (null: without a key) was answered 401, or its socket closed with
   * 4401: forgets that key and asks for one, with the server's `message`. An answer to a request
   * made with an older key (the user has given another since), or one while the page is already
   * asking, changes nothing: requests made together fail together.
   */
  refused(sent: string | null, message: string): void {
    if (sent !== this.key || this.asking) return;
    if (sent !== null) this.store(null);
    this.asking = { message: keyMessage(message), refused: sent !== null };
    this.changed();
  }

  /** The Authorization header for a request sent with `key` (what `key` read just before). */
  headers(key: string | null): Record<string, string> {
    return key === null ? {} : { authorization: `Bearer ${key}` };
  }

  private store(key: string | null): void {
    try {
      if (key === null) sessionStorage.removeItem(STORAGE_NAME);
      else sessionStorage.setItem(STORAGE_NAME, key);
    } catch {
      this.memory = key;
    }
  }

  private changed(): void {
    this.changes++;
    this.dispatchEvent(new Event('change'));
  }
}

/** The page's one key holder. */
export const apiKey = new ApiKeyHolder();
