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
 * - `expand` (called on the text graphql-ws hands the socket, right after making it) puts that JSON
 *   where the marker is. The marker can only be the message's last property (graphql-ws writes
 *   `id`, `type`, `payload` in that order), so a client's `id` that spells the marker changes
 *   nothing.
 *
 * The text sent is the same, byte for byte, as graphql-ws's own. Payloads with anything beside
 * `data` (errors, extensions) are stringified as before.
 */
export interface SharedJson {
  replacer(this: unknown, key: string, value: unknown): unknown;
  expand(text: string): string;
}

const MARKER = '\u0000sift:data:';
// How JSON.stringify writes the marker (NUL escaped), as the message's last property.
const MARKED_TAIL = /,"payload":"\\u0000sift:data:(\d+)"\}$/;

export function createSharedJson(): SharedJson {
  const texts = new WeakMap<object, string>();
  let message: unknown;
  // graphql-ws makes a message's text and hands it to the socket in one go: one waits at most.
  let waiting: { serial: number; payload: string } | undefined;
  let serial = 0;

  return {
    replacer(this: unknown, key: string, value: unknown): unknown {
      if (key === '') {
        message = value;
        return value;
      }
      if (key !== 'payload' || this !== message || !isDataOnly(value)) return value;
      let data = texts.get(value.data);
      if (data === undefined) texts.set(value.data, (data = JSON.stringify(value.data)));
      waiting = { serial: ++serial, payload: `{"data":${data}}` };
      return `${MARKER}${waiting.serial}`;
    },
    expand(text: string): string {
      const marked = MARKED_TAIL.exec(text);
      if (!marked) return text;
      if (waiting?.serial !== Number(marked[1])) throw new Error('a message was made and not sent before the next one');
      const { payload } = waiting;
      waiting = undefined;
      return `${text.slice(0, marked.index)},"payload":${payload}}`;
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
