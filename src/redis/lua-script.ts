import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { sendBulk } from './bulk-command';

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
  /**
   * With `bulk`, the call is sent as a bulk command (bulk-command.ts: cheaper to encode for
   * thousands of arguments, but written outside auto-pipelining, so only where its order against
   * other commands does not matter).
   */
  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[], options?: { bulk?: boolean }): Promise<unknown>;
}

export function variadicLuaScript(lua: string): VariadicLuaScript {
  const script = scriptBody(lua);
  return { run: (redis, keys, args, options) => script(redis, keys.length, [...keys, ...args], options?.bulk ?? false) };
}

/** Runs `lua` by SHA (EVALSHA), sending the script itself (EVAL, which loads it again) after NOSCRIPT. */
function scriptBody(lua: string): (redis: Redis, keyCount: number, values: readonly (string | number)[], bulk?: boolean) => Promise<unknown> {
  const sha = createHash('sha1').update(lua).digest('hex');
  const send = (redis: Redis, command: 'evalsha' | 'eval', script: string, keyCount: number, values: readonly (string | number)[], bulk: boolean) => {
    if (bulk) return sendBulk(redis, command, [script, keyCount, ...values]);
    return command === 'evalsha' ? redis.evalsha(script, keyCount, ...values) : redis.eval(script, keyCount, ...values);
  };
  return async (redis, keyCount, values, bulk = false) => {
    try {
      return await send(redis, 'evalsha', sha, keyCount, values, bulk);
    } catch (error) {
      if (!(error as Error).message?.startsWith('NOSCRIPT')) throw error;
      return send(redis, 'eval', lua, keyCount, values, bulk);
    }
  };
}
