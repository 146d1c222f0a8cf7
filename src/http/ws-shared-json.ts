/**
 * Serializes each execution result once, however many WebSocket messages carry it.
 *
 * graphql-ws builds every `next` message as `JSON.stringify({ id, type, payload })`, so a progress
 * event sent to 1,000 subscribers was stringified 1,000 times (half the API's CPU in a fan-out of
 * row subscribers, once their execution was shared). Node 20 has no `JSON.rawJSON` to drop an
 * already-made JSON text into a `JSON.stringify`, so this works in two steps around graphql-ws's
 * own ones:
 * - `replacer` (graphql-ws's `jsonMessageReplacer`) stands in for a message's `{ data }` payload
 *   with a marker, and makes (or finds) the JSON of that `data` object, once per object: shared
 *   results are the same object for every subscriber;
 * - `expand` (called on the text graphql-ws hands the socket, right after making it) splits it
 *   where the marker is: the text before it (the message's `id` and `type`), the payload's JSON as
 *   one Buffer made once and shared by every message that carries it, and the closing brace. The
 *   marker can only be the message's last property (graphql-ws writes `id`, `type`, `payload` in
 *   that order), so a client's `id` that spells the marker changes nothing.
 *
 * The adapter sends the three parts as one text message in three frames (RFC 6455 fragmentation),
 * so the shared Buffer is written to each socket as it is, never copied into a string per
 * subscriber (small payloads, under 8 kB, go out as one string instead). Put together, they are the text graphql-ws would have sent, byte for byte. Payloads
 * with anything beside `data` (errors, extensions) are stringified as before.
 */
export interface SharedJson {
  replacer(this: unknown, key: string, value: unknown): unknown;
  /** The message as graphql-ws made it, or in three parts when its payload is shared. */
  expand(text: string): string | SplitMessage;
}

/** One text message: `head`, then the shared `body`, then `tail`. */
export interface SplitMessage {
  head: string;
  body: Buffer;
  tail: string;
}

const MARKER = '\u0000sift:data:';
// How JSON.stringify writes the marker (NUL escaped), as the message's last property.
const MARKED_TAIL = /,"payload":"\\u0000sift:data:(\d+)"\}$/;

/** Payloads smaller than this go out whole, in one frame: three frames cost more than copying a few kB. */
const SPLIT_BYTES = 8 * 1024;

export function createSharedJson(): SharedJson {
  const payloads = new WeakMap<object, string | Buffer>();
  let message: unknown;
  // graphql-ws makes a message's text and hands it to the socket in one go: one waits at most.
  let waiting: { serial: number; payload: string | Buffer } | undefined;
  let serial = 0;

  return {
    replacer(this: unknown, key: string, value: unknown): unknown {
      if (key === '') {
        message = value;
        return value;
      }
      if (key !== 'payload' || this !== message || !isDataOnly(value)) return value;
      let payload = payloads.get(value.data);
      if (payload === undefined) {
        const text = `{"data":${JSON.stringify(value.data)}}`;
        payloads.set(value.data, (payload = text.length < SPLIT_BYTES ? text : Buffer.from(text)));
      }
      waiting = { serial: ++serial, payload };
      return `${MARKER}${waiting.serial}`;
    },
    expand(text: string): string | SplitMessage {
      const marked = MARKED_TAIL.exec(text);
      if (!marked) return text;
      if (waiting?.serial !== Number(marked[1])) throw new Error('a message was made and not sent before the next one');
      const { payload } = waiting;
      waiting = undefined;
      const head = `${text.slice(0, marked.index)},"payload":`;
      return typeof payload === 'string' ? `${head}${payload}}` : { head, body: payload, tail: '}' };
    },
  };
}

/** `{ data: <object> }` and nothing else (no errors, no extensions). */
function isDataOnly(value: unknown): value is { data: object } {
  if (typeof value !== 'object' || value === null) return false;
  const keys = Object.keys(value);
  const { data } = value as { data?: unknown };
  return keys.length === 1 && keys[0] === 'data' && typeof data === 'object' && data !== null;
}
