import type { SiftAuthError } from '../client/sift-client';
import { CliError, ExitCodes } from './cli-errors';

/** The API key a command was given, and where from (named in messages; the key never is). */
export interface ApiKey {
  key: string;
  from: '--api-key' | 'SIFT_API_KEY';
}

/**
 * The key of `--api-key`, else `SIFT_API_KEY` (commander reads both: the option wins), or
 * undefined when neither gave one. A blank value counts as none (an exported but empty variable,
 * as CI gives for a missing secret); a key with spaces or control characters inside cannot be
 * sent in a header and is bad input (exit 2), said without repeating the key.
 */
export function apiKeyFrom(value: string | undefined, source: string | undefined): ApiKey | undefined {
  const key = value?.trim();
  if (!key) return undefined;
  const from = source === 'env' ? 'SIFT_API_KEY' : '--api-key';
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new CliError(`The API key in ${from} has spaces or other characters a key does not have; give it as sift keys create printed it (sift_...).`, ExitCodes.BAD_INPUT, 'BAD_API_KEY');
  }
  return { key, from };
}

/**
 * What sift says when the server refuses the key (exit 2, bad usage: another key, or one at all,
 * fixes it): none given, one refused, or one without the scope (the server's message names it).
 */
export function authFailure(error: SiftAuthError, apiKey: ApiKey | undefined): CliError {
  if (error.code === 'FORBIDDEN') return new CliError(error.message, ExitCodes.BAD_INPUT, 'FORBIDDEN');
  const words = apiKey
    ? `The API key ${apiKey.from === '--api-key' ? 'given with --api-key' : 'in SIFT_API_KEY'} was refused (mistyped or revoked); check it, or ask an operator for a new one (sift keys create).`
    : 'This server needs an API key: pass --api-key or set SIFT_API_KEY (an operator makes one with sift keys create).';
  return new CliError(words, ExitCodes.BAD_INPUT, 'UNAUTHENTICATED');
}

// The shape `sift keys create` gives keys: sift_<id: 16 hex>_<secret: 43 base64url>.
const KEY_LIKE = /\bsift_([0-9a-f]{16})_[A-Za-z0-9_-]{43}/g;

/**
 * Text sift prints with anything shaped like an API key cut to its public id (`sift_<id>_…`):
 * for what sift does not word itself (commander's usage errors quote a mistyped option whole,
 * `--apikey=sift_...` included; a stack trace).
 */
export function redactKeys(text: string): string {
  return text.replace(KEY_LIKE, 'sift_$1_…');
}
