import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** What one script needs: its keys and arguments by name, in the order KEYS and ARGV list them. */
export interface LuaScriptDefinition<K extends string, A extends string, R> {
  /** For error messages. */
  name: string;
  keys: readonly K[];
  args: readonly A[];
  lua: string;
  /** Turns Redis's reply into the script's result type (and checks it has the expected shape). */
  reply(raw: unknown): R;
}

/** A Lua script run as one atomic change: `run(redis, {key: ...}, {arg: ...})`. */
export interface LuaScript<K extends string, A extends string, R> {
  readonly name: string;
  run(redis: Redis, keys: Readonly<Record<K, string>>, args: Readonly<Record<A, string | number>>): Promise<R>;
}

/**
 * A typed wrapper for one Lua script. It runs by SHA (EVALSHA) and, when Redis answers NOSCRIPT
 * (it forgets loaded scripts when it restarts), sends the script itself (EVAL, which loads it
 * again), so a Redis restart never leaves a script uncallable.
 */
export function luaScript<const K extends string, const A extends string, R>(definition: LuaScriptDefinition<K, A, R>): LuaScript<K, A, R> {
  const sha = createHash('sha1').update(definition.lua).digest('hex');
  return {
    name: definition.name,
    async run(redis, keys, args) {
      const values = [...definition.keys.map((key) => keys[key]), ...definition.args.map((arg) => args[arg])];
      const count = definition.keys.length;
      let raw: unknown;
      try {
        raw = await redis.evalsha(sha, count, ...values);
      } catch (error) {
        if (!(error as Error).message?.startsWith('NOSCRIPT')) throw error;
        raw = await redis.eval(definition.lua, count, ...values);
      }
      return definition.reply(raw);
    },
  };
}
