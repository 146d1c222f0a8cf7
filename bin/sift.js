#!/usr/bin/env node
// The `sift` executable (package.json "bin"): runs the compiled command line. A launcher of its
// own, committed executable, because tsc rewrites dist/ without the executable bit.
const path = require('node:path');
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'sift.js');
try {
  require.resolve(entry);
} catch {
  process.stderr.write('sift: not built yet; run `npm install` (or `npm run build`) in the Sift folder first.\n');
  process.exit(2);
}
require(entry);
