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
  const script = scriptBody(definition.lua);
  return {
    name: definition.name,
    async run(redis, keys, args) {
      const values = [...definition.keys.map((key) => keys[key]), ...definition.args.map((arg) => args[arg])];
      return definition.reply(await script(redis, definition.keys.length, values));
    },
  };
}

/**
 * A script over any number of keys (KEYS as given, then ARGV), for changes that touch a list of
 * keys at once; reloaded after NOSCRIPT like `luaScript`'s.
 */
export interface VariadicLuaScript {
  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
}

export function variadicLuaScript(lua: string): VariadicLuaScript {
  const script = scriptBody(lua);
  return { run: (redis, keys, args) => script(redis, keys.length, [...keys, ...args]) };
}

/** Runs `lua` by SHA (EVALSHA), sending the script itself (EVAL, which loads it again) after NOSCRIPT. */
function scriptBody(lua: string): (redis: Redis, keyCount: number, values: readonly (string | number)[]) => Promise<unknown> {
  const sha = createHash('sha1').update(lua).digest('hex');
  return async (redis, keyCount, values) => {
    try {
      return await redis.evalsha(sha, keyCount, ...values);
    } catch (error) {
      if (!(error as Error).message?.startsWith('NOSCRIPT')) throw error;
      return redis.eval(lua, keyCount, ...values);
    }
  };
}
