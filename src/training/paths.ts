import fs from 'node:fs';
import path from 'node:path';

/**
 * The project's root folder: the nearest folder above `startDir` that holds a `package.json`.
 * Compiled entry points live at `dist/src/training/`, so walking up finds the root wherever the
 * project is checked out; `fallback` (the working directory, by default) is used when none is found.
 */
export function findProjectRoot(startDir: string, fallback: string = process.cwd()): string {
  let dir = path.resolve(startDir);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return fallback;
    dir = parent;
  }
}

/** Where the training data lives unless told otherwise: `../shared/datasets` next to the project. */
export function defaultDatasetsDir(projectRoot: string): string {
  return path.resolve(projectRoot, '..', 'shared', 'datasets');
}

/** The folder that holds one bundled model: `models/<name>/` under the project root. */
export function modelDir(projectRoot: string, name: string): string {
  return path.join(projectRoot, 'models', name);
}
