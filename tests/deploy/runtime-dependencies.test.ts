import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { PROJECT_ROOT } from '../support/paths';

/** Every .js file under `dir`, recursively. */
function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? jsFiles(file) : entry.name.endsWith('.js') ? [file] : [];
  });
}

/** The package a bare `require` names: `a` for `a/b`, `@s/a` for `@s/a/b`. */
function packageOf(request: string): string {
  const parts = request.split('/');
  return request.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

// The Docker image installs `dependencies` only (npm prune --omit=dev): a package that the
// compiled server, worker, CLI or training code requires at run time but that is only a
// devDependency works in development and breaks there (as `sift train` once did with onnx-proto).
describe('what the shipped code requires', () => {
  it('is Node itself or a package listed in dependencies', () => {
    const manifest = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    const missing = new Set<string>();
    for (const file of [...jsFiles(path.join(PROJECT_ROOT, 'dist/src')), ...jsFiles(path.join(PROJECT_ROOT, 'dist/workers'))]) {
      for (const [, request] of readFileSync(file, 'utf8').matchAll(/require\("([^".][^"]*)"\)/g)) {
        if (builtins.has(request) || builtins.has(request.split('/')[0])) continue;
        if (!(packageOf(request) in manifest.dependencies)) missing.add(`${packageOf(request)} (${path.relative(PROJECT_ROOT, file)})`);
      }
    }
    expect([...missing]).toEqual([]);
  });
});
