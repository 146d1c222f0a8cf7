import { stringifyMessage, MessageType } from 'graphql-ws';
import { createSharedJson, type SharedJson, type SplitMessage } from '../../src/http/ws-shared-json';

/** The text of a message as the adapter sends it: whole, or its three frames put together. */
const joined = (message: string | SplitMessage) => (typeof message === 'string' ? message : `${message.head}${message.body.toString()}${message.tail}`);

/** What graphql-ws makes of a next message with our replacer, then our expand. */
const expanded = (json: SharedJson, id: string, payload: object) => json.expand(stringifyMessage({ id, type: MessageType.Next, payload } as never, json.replacer));

/** The text the client gets. */
const send = (json: SharedJson, id: string, payload: object): string => joined(expanded(json, id, payload));

/** A result the size of a page of rows (over 8 kB of JSON). */
const bigData = () => Object.assign(Object.create(null) as object, { batchProgress: { batch: { processed: 2000 }, rows: Array.from({ length: 2000 }, (_, index) => ({ index, text: `row ${index} é` })) } });

// graphql-js makes result objects without a prototype.
const resultData = () => Object.assign(Object.create(null) as object, { batchProgress: { batch: { processed: 3, status: 'RUNNING' }, rows: [{ index: 0 }, { index: 1, text: 'naïve "quoted" \u2028 line' }] } });

describe('each execution result serialized once for every message that carries it', () => {
  afterEach(() => jest.restoreAllMocks());

  it('sends the same text as graphql-ws would, and stringifies the shared data once for many subscribers', () => {
    const json = createSharedJson();
    const data = resultData();
    const stringify = jest.spyOn(JSON, 'stringify');
    const texts = ['1', '2', 'a-much-longer-subscription-id'].map((id) => send(json, id, { data }));
    const dataStringified = stringify.mock.calls.filter(([value]) => value === data).length;
    stringify.mockRestore();
    expect(texts).toEqual(['1', '2', 'a-much-longer-subscription-id'].map((id) => JSON.stringify({ id, type: 'next', payload: { data } })));
    expect(dataStringified).toBe(1);
    expect(JSON.parse(texts[1])).toEqual({ id: '2', type: 'next', payload: { data: JSON.parse(JSON.stringify(data)) } });
  });

  it('a large payload goes out in three parts around one Buffer shared by every message; a small one as one string', () => {
    const json = createSharedJson();
    const data = bigData();
    const [a, b] = ['1', '22'].map((id) => expanded(json, id, { data }));
    if (typeof a === 'string' || typeof b === 'string') throw new Error('a large payload should be split');
    expect(b.body).toBe(a.body);
    expect([a.head, a.tail, b.head]).toEqual(['{"id":"1","type":"next","payload":', '}', '{"id":"22","type":"next","payload":']);
    expect(joined(b)).toBe(JSON.stringify({ id: '22', type: 'next', payload: { data } }));
    expect(typeof expanded(json, '1', { data: resultData() })).toBe('string');
  });

  it('leaves payloads with errors or extensions, and messages without a payload, as graphql-ws makes them', () => {
    const json = createSharedJson();
    const withErrors = { data: null, errors: [{ message: 'too slow', extensions: { code: 'SUBSCRIBER_TOO_SLOW', payload: { data: { x: 1 } } } }] };
    expect(send(json, '1', withErrors)).toBe(JSON.stringify({ id: '1', type: 'next', payload: withErrors }));
    const withExtensions = { data: resultData(), extensions: { cost: 3 } };
    expect(send(json, '2', withExtensions)).toBe(JSON.stringify({ id: '2', type: 'next', payload: withExtensions }));
    const complete = json.expand(stringifyMessage({ id: '3', type: MessageType.Complete }, json.replacer));
    expect(complete).toBe('{"id":"3","type":"complete"}');
  });

  it('a client id that spells the marker changes nothing', () => {
    const json = createSharedJson();
    const data = resultData();
    for (const id of ['\u0000sift:data:1', ',"payload":"\u0000sift:data:1"}', 'x"\u0000sift:data:7']) {
      expect(send(json, id, { data })).toBe(JSON.stringify({ id, type: 'next', payload: { data } }));
    }
  });

  it('a new data object is stringified again; a text made and never sent is refused rather than sent wrong', () => {
    const json = createSharedJson();
    const first = resultData();
    const second = resultData();
    (second as { batchProgress: { batch: { processed: number } } }).batchProgress.batch.processed = 4;
    expect(JSON.parse(send(json, '1', { data: first })).payload.data.batchProgress.batch.processed).toBe(3);
    expect(JSON.parse(send(json, '1', { data: second })).payload.data.batchProgress.batch.processed).toBe(4);
    const unsent = stringifyMessage({ id: '1', type: MessageType.Next, payload: { data: first } } as never, json.replacer);
    stringifyMessage({ id: '2', type: MessageType.Next, payload: { data: second } } as never, json.replacer);
    expect(() => json.expand(unsent)).toThrow(/made and not sent/);
  });
});
