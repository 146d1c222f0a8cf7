#!/usr/bin/env node
// The `sift` executable (package.json "bin", and what `npm start` runs): runs the compiled command
// line. A launcher of its own, committed executable, because tsc rewrites dist/ without the
// executable bit. The project installs without install scripts (.npmrc), so this is where Sift
// gets built: on first use, and again before a server command when the sources changed since
// the last build. A start with nothing changed builds nothing.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const entry = path.join(root, 'dist', 'src', 'cli', 'sift.js');
const page = path.join(root, 'dist', 'web', 'index.html');

/** The newest modification time of a file under `dir` (0 when there is none). */
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

const builtAt = (file) => (fs.existsSync(file) ? fs.statSync(file).mtimeMs : -1);

/** Why a build is needed now, or null. Sources are only compared in a source checkout. */
function buildReason() {
  if (!fs.existsSync(entry)) return 'not built yet';
  const command = process.argv[2];
  if (!['up', 'serve', 'worker'].includes(command) || !fs.existsSync(path.join(root, 'src'))) return null;
  const server = Math.max(newest(path.join(root, 'src')), newest(path.join(root, 'workers')));
  if (server > builtAt(entry) || newest(path.join(root, 'web')) > builtAt(page)) return 'the sources changed since the last build';
  return null;
}

const reason = buildReason();
if (reason) {
  process.stderr.write(`sift: building first (${reason}); this takes about half a minute.\n`);
  // npm's own path when npm started us (npm start, npx), else the npm on the PATH. The build's
  // output goes to stderr, so a command's stdout stays its own.
  const npm = process.env.npm_execpath;
  const [command, args] = npm ? [process.execPath, [npm, 'run', 'build']] : ['npm', ['run', 'build']];
  const build = spawnSync(command, args, { cwd: root, stdio: ['ignore', 2, 2], shell: !npm && process.platform === 'win32' });
  if (build.status !== 0) {
    process.stderr.write('sift: the build failed (its errors are above); fix them, or run `npm run build` to see them again.\n');
    process.exit(2);
  }
}
require(entry);
