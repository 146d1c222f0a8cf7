/**
 * The one place that names Redis keys. Every key starts with the configured prefix, so tests run
 * side by side under their own prefixes and an operator can read the key space at a glance.
 */
export interface RedisKeys {
  readonly prefix: string;
  /** Cached prediction of one text by one model version. */
  prediction(model: string, version: string, textHash: string): string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    prefix,
    prediction: (model, version, textHash) => `${prefix}pred:${model}:${version}:${textHash}`,
  };
}
