import { Redis } from 'ioredis';
import { ApiKeyStore } from '../../auth/api-key-store';
import { isScope, SCOPES, type Scope } from '../../auth/principal';
import { loadConfig } from '../../config/config';
import { passwordRefusal, redactUrl } from '../../redis/connections';
import { redisKeys } from '../../redis/keys';
import { CliError, ExitCodes, type ExitCode } from '../cli-errors';
import type { Terminal } from './batch-commands';

/**
 * `sift keys create|list|update|revoke`: API keys, made and revoked in Redis directly (REDIS_URL and
 * SIFT_KEY_PREFIX, as the server reads them), because the first key cannot come from a server
 * that needs one.
 */
async function withKeyStore<T>(use: (store: ApiKeyStore) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
  // Its last error says why a connect failed (the connect's own rejection is only "Connection is closed").
  let lastError = '';
  redis.on('error', (error: Error) => (lastError = error.message));
  try {
    await redis.connect();
  } catch (error) {
    // A Redis that wants another password answers: say what to put in REDIS_URL, not that none answers.
    const refused = passwordRefusal(lastError || ((error as Error).message ?? ''));
    if (refused) throw new CliError(`The Redis at REDIS_URL=${redactUrl(config.redisUrl)} ${refused}.`, ExitCodes.BAD_INPUT);
    throw new CliError(`No Redis answers at REDIS_URL=${redactUrl(config.redisUrl)}: sift keys talks to the server's Redis directly; set REDIS_URL (and SIFT_KEY_PREFIX) as the server has them.`, ExitCodes.UNREACHABLE);
  }
  try {
    return await use(new ApiKeyStore(redis, redisKeys(config.keyPrefix)));
  } finally {
    redis.disconnect();
  }
}

/** The scopes a `--scopes` value names (comma separated). */
export function parseScopes(value: string): Scope[] {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !isScope(name));
  if (unknown.length > 0 || names.length === 0) throw new CliError(`--scopes takes ${SCOPES.join(', ')} (comma separated); got ${JSON.stringify(value)}.`, ExitCodes.BAD_INPUT);
  // priority is what a key's batches may be: without batches (or admin) it would allow nothing.
  if (names.includes('priority') && !names.includes('batches') && !names.includes('admin')) {
    throw new CliError(`--scopes ${value}: priority lets a key's batches be HIGH, so it goes with batches; give --scopes batches,priority (and predict if the key predicts too).`, ExitCodes.BAD_INPUT);
  }
  return [...new Set(names)] as Scope[];
}

export async function createKeyCommand(name: string, scopes: Scope[], json: boolean, terminal: Terminal): Promise<ExitCode> {
  if (name.trim() === '') throw new CliError('--name must not be empty: name the key after who or what uses it.', ExitCodes.BAD_INPUT);
  const { key, info } = await withKeyStore((store) => store.create(name.trim(), scopes));
  if (json) {
    terminal.stdout.write(`${JSON.stringify({ key, ...info })}\n`);
  } else {
    terminal.stdout.write(`${key}\n`);
    terminal.stderr.write(`Key ${info.id} "${info.name}" (${info.scopes.join(', ')}). This is the only time it is shown: keep it secret. Clients send it as "Authorization: Bearer <key>"; sift commands take --api-key or SIFT_API_KEY.\n`);
  }
  return ExitCodes.OK;
}

export async function listKeysCommand(json: boolean, terminal: Terminal): Promise<ExitCode> {
  const keys = await withKeyStore((store) => store.list());
  if (json) {
    terminal.stdout.write(`${JSON.stringify(keys)}\n`);
    return ExitCodes.OK;
  }
  if (keys.length === 0) terminal.stderr.write('No API keys yet: sift keys create --name NAME makes one.\n');
  for (const key of keys) terminal.stdout.write(`${key.id}  ${key.name}  ${key.scopes.join(',')}  created ${key.createdAt}${key.revokedAt ? `  REVOKED ${key.revokedAt}` : ''}\n`);
  return ExitCodes.OK;
}

export async function updateKeyCommand(id: string, scopes: Scope[], terminal: Terminal): Promise<ExitCode> {
  const outcome = await withKeyStore((store) => store.setScopes(id, scopes));
  if (outcome === 'unknown') throw new CliError(`No API key has the id ${JSON.stringify(id)}; sift keys list shows them.`, ExitCodes.BAD_INPUT);
  if (outcome === 'revoked') throw new CliError(`Key ${id} is revoked, and stays so; make a new one with sift keys create.`, ExitCodes.BAD_INPUT);
  terminal.stderr.write(`Key ${id} now has ${scopes.join(', ')}: servers apply it within a few seconds; its holders keep the same key.\n`);
  return ExitCodes.OK;
}

export async function revokeKeyCommand(id: string, terminal: Terminal): Promise<ExitCode> {
  if (!(await withKeyStore((store) => store.revoke(id)))) throw new CliError(`No API key has the id ${JSON.stringify(id)}; sift keys list shows them.`, ExitCodes.BAD_INPUT);
  terminal.stderr.write(`Key ${id} is revoked: servers refuse it within a few seconds.\n`);
  return ExitCodes.OK;
}
