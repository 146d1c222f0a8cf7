import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../support/paths';

/**
 * A stand-in project around the real launcher (bin/sift.js): its "build" script writes a
 * dist/src/cli/sift.js that prints what it was asked, and counts builds in a file.
 */
function standInProject(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'sift-launcher-'));
  mkdirSync(path.join(root, 'bin'));
  copyFileSync(path.join(PROJECT_ROOT, 'bin/sift.js'), path.join(root, 'bin/sift.js'));
  for (const dir of ['src', 'workers', 'web/src']) mkdirSync(path.join(root, dir), { recursive: true });
  writeFileSync(path.join(root, 'src/a.ts'), 'export {};\n');
  const build = [
    "const fs = require('fs');",
    "fs.mkdirSync('dist/src/cli', { recursive: true }); fs.mkdirSync('dist/web', { recursive: true });",
    "fs.writeFileSync('dist/src/cli/sift.js', 'process.stdout.write(\"ran \" + process.argv[2] + \"\\\\n\");');",
    "fs.writeFileSync('dist/web/index.html', '');",
    "fs.appendFileSync('builds', 'x');",
  ].join(' ');
  writeFileSync(path.join(root, 'build.js'), build);
  writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'stand-in', private: true, scripts: { build: 'node build.js' } }));
  return root;
}

function sift(root: string, command: string) {
  const run = spawnSync(process.execPath, [path.join(root, 'bin/sift.js'), command], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH } });
  const builds = spawnSync(process.execPath, ['-e', "process.stdout.write(String(require('fs').readFileSync('builds','utf8').length))"], { cwd: root, encoding: 'utf8' }).stdout;
  return { code: run.status, stdout: run.stdout, stderr: run.stderr, builds: Number(builds || 0) };
}

describe('the sift launcher (bin/sift.js, what npm start runs)', () => {
  it('builds on first use, then runs the command', () => {
    const root = standInProject();
    const first = sift(root, 'predict');
    expect(first).toMatchObject({ code: 0, stdout: 'ran predict\n', builds: 1 });
    expect(first.stderr).toMatch(/building first \(not built yet\)/);
  });

  it('does not build again when nothing changed, for a server command either', () => {
    const root = standInProject();
    sift(root, 'up');
    const again = sift(root, 'up');
    expect(again).toMatchObject({ code: 0, stdout: 'ran up\n', builds: 1, stderr: '' });
  });

  it('builds again before a server command when a source changed since the last build', () => {
    const root = standInProject();
    sift(root, 'up');
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(root, 'src/a.ts'), later, later);
    // A client command runs what is built; a server command rebuilds first.
    expect(sift(root, 'predict')).toMatchObject({ stdout: 'ran predict\n', builds: 1 });
    const up = sift(root, 'up');
    expect(up).toMatchObject({ code: 0, stdout: 'ran up\n', builds: 2 });
    expect(up.stderr).toMatch(/the sources changed since the last build/);
  });

  it('stops with one line when the build fails', () => {
    const root = standInProject();
    writeFileSync(path.join(root, 'build.js'), 'process.exit(3);');
    const run = sift(root, 'up');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/sift: the build failed/);
  });
});
