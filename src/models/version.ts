import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A model's version is a content hash of every file in its folder (names and bytes, in name
 * order). It is part of every cache key, so retraining or swapping `model.onnx` can never serve a
 * prediction cached for the old files.
 */
export async function modelVersion(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
  for (const name of names) {
    hash.update(`${name}\0`);
    hash.update(await readFile(path.join(dir, name)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}
