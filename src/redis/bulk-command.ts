import { Command, type Redis } from 'ioredis';

/**
 * Commands of thousands of arguments (a chunk's cache reads and writes), encoded for the wire in
 * one join. ioredis encodes a command by measuring and concatenating each argument in turn, and an
 * auto-pipelined one is copied again into its pipeline's write: for 140,000 cache entries written
 * in scripts of 1,000, that cost the writer 0.29-0.41 CPU-s against 0.11-0.13 s this way, and an
 * MGET of as many keys 0.11 against 0.06 (measured with ioredis 5.11 against the local Redis; the
 * bench's worker-cpu.ts shows the worker's whole figure). Redis's own work is the same.
 *
 * A bulk command is written at once, outside auto-pipelining: commands issued before it in the
 * same tick on an auto-pipelined connection may reach Redis after it. Only for commands whose order
 * against others does not matter (cache entries, which any process may write at any time).
 */
export function sendBulk(redis: Redis, name: string, args: readonly (string | number)[]): Promise<unknown> {
  const command = new EncodedCommand(name, encodeCommand(name, args));
  redis.sendCommand(command);
  return command.promise;
}

/** The RESP array of bulk strings Redis reads for `name` and `args`. */
export function encodeCommand(name: string, args: readonly (string | number)[]): string {
  const texts = args.map(String);
  // Most arguments are ASCII (hex hashes, probabilities, key prefixes): their lengths are their
  // byte counts, and a single measure of the whole command proves it.
  const wire = join(name, texts, (text) => text.length);
  return Buffer.byteLength(wire) === wire.length ? wire : join(name, texts, (text) => Buffer.byteLength(text));
}

function join(name: string, texts: readonly string[], bytes: (text: string) => number): string {
  const parts = new Array<string>(texts.length * 2 + 4);
  parts[0] = `*${texts.length + 1}`;
  parts[1] = `$${bytes(name)}`;
  parts[2] = name;
  for (let i = 0; i < texts.length; i++) {
    parts[3 + 2 * i] = `$${bytes(texts[i])}`;
    parts[4 + 2 * i] = texts[i];
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
