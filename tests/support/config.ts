import { loadConfig } from '../../src/config/config';
import type { SiftError } from '../../src/errors';

/** The error loadConfig throws for `env` (read as from /srv/sift); fails the test when it throws none. */
export function configFailure(env: Record<string, string>): SiftError {
  try {
    loadConfig(env, '/srv/sift');
  } catch (error) {
    return error as SiftError;
  }
  throw new Error('expected loadConfig to throw');
}
