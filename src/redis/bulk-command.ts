import { Command, type Redis } from 'ioredis';

/**
 * Commands of thousands of arguments (a chunk's cache reads and writes), encoded for the wire in
 * one join. ioredis encodes a command by measuring and concatenating each argument in turn, and an
 * auto-pipelined one is copied again into its pipeline's write: for 140,000 cache entries written
 * in groups of 700, script calls cost the writer 0.17-0.24 CPU-s encoded by ioredis against
 * 0.09-0.12 s this way, and reading them back with MGET 0.15-0.22 s against 0.11-0.17 s
 * (`node dist/bench/cache-writes.js` as it was when the cache kept a key per entry, three
 * alternating rounds). Redis's own work is the same.
 *
 * A bulk command is written at once, outside auto-pipelining: auto-pipelined commands issued
 * before it on the same connection and not yet written (they wait for the next turn of the event
 * loop, or for their connection's previous pipeline to be answered) may reach Redis after it. Only
 * for commands whose order against others does not matter (cache entries, which any process may
 * write at any time). ioredis's `keyPrefix` option is not applied (Sift does not use it). `tail`:
 * arguments encoded already (encodeArgs), sent after `args`.
 */
export function sendBulk(redis: Redis, name: string, args: readonly (string | number)[], tail: EncodedArgs = NO_ARGS): Promise<unknown> {
  const command = new EncodedCommand(name, encodeCommand(name, args, tail));
  redis.sendCommand(command);
  return command.promise;
}

/**
 * Arguments encoded for the wire once, to end several commands: a chunk's cache read asks each
 * window for the same fields of a shard, and encoding them once rather than for each of the
 * three HMGETs was most of what the read's encoding cost a worker.
 */
export interface EncodedArgs {
  count: number;
  wire: string;
}

const NO_ARGS: EncodedArgs = { count: 0, wire: '' };

/** The RESP array of bulk strings Redis reads for `name` and `args`, then the arguments of `tail`. */
export function encodeCommand(name: string, args: readonly (string | number)[], tail: EncodedArgs = NO_ARGS): string {
  const head = encodeArgs(args, name);
  return `*${head.count + tail.count}\r\n${head.wire}${tail.wire}`;
}

/** `args` (after `name`, when given) as the wire's bulk strings, each ended by its line end. */
export function encodeArgs(args: readonly (string | number)[], name?: string): EncodedArgs {
  const texts = name === undefined ? args.map(String) : [name, ...args.map(String)];
  // Most arguments are ASCII (hashes, probabilities, key prefixes): their lengths are their byte
  // counts, and a single measure of the whole text proves it.
  const wire = join(texts, (text) => text.length);
  return { count: texts.length, wire: Buffer.byteLength(wire) === wire.length ? wire : join(texts, (text) => Buffer.byteLength(text)) };
}

/** `$<n>`, the header of a bulk string of n bytes, for the lengths seen so far up to MAX_KEPT_HEADER. */
const headers: string[] = [];
const MAX_KEPT_HEADER = 4096;

/** A bulk string's header, made once per length (keys and scores have a few lengths, and a chunk thousands of them). */
function header(bytes: number): string {
  return bytes > MAX_KEPT_HEADER ? `$${bytes}` : (headers[bytes] ??= `$${bytes}`);
}

function join(texts: readonly string[], bytes: (text: string) => number): string {
  if (texts.length === 0) return '';
  const parts = new Array<string>(texts.length * 2 + 1);
  for (let i = 0; i < texts.length; i++) {
    parts[2 * i] = header(bytes(texts[i]));
    parts[2 * i + 1] = texts[i];
  }
  parts[parts.length - 1] = ''; // the join's last separator ends the last argument
  return parts.join('\r\n');
}

/** A command written as given; its reply is decoded as UTF-8 text, as ioredis's named commands' are. */
class EncodedCommand extends Command {
  constructor(
    name: string,
    private readonly wire: string,
  ) {
    super(name, [], { replyEncoding: 'utf8' });
  }

  override toWritable(): string {
    return this.wire;
  }
}
