#!/usr/bin/env node
// The `sift` executable (package.json "bin", and what `npm start` runs): runs the compiled command
// line. A launcher of its own, committed executable, because tsc rewrites dist/ without the
// executable bit. `npm install` builds dist/ (the "prepare" script), so starting never waits for a
// build; in a source checkout whose sources changed since, the server commands say so.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const entry = path.join(root, 'dist', 'src', 'cli', 'sift.js');
try {
  require.resolve(entry);
} catch {
  process.stderr.write('sift: not built yet; run `npm install` (or `npm run build`) in the Sift folder first.\n');
  process.exit(2);
}

/** The newest modification time of a file under `dir` (0 when it does not exist). */
function newest(dir) {
  let latest = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const item of entries) {
    const file = path.join(dir, item.name);
    latest = Math.max(latest, item.isDirectory() ? newest(file) : fs.statSync(file).mtimeMs);
  }
  return latest;
}

if (['up', 'serve', 'worker'].includes(process.argv[2]) && fs.existsSync(path.join(root, 'src'))) {
  const built = fs.statSync(entry).mtimeMs;
  const changed = ['src', 'workers', path.join('web', 'src')].some((dir) => newest(path.join(root, dir)) > built);
  if (changed) process.stderr.write('sift: the sources changed since the last build; run `npm run build` to use the changes.\n');
}
require(entry);
