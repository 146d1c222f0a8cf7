import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../support/paths';

const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => statSync(path.join(dir, file)).isFile()).sort();
}

// onnxruntime-node ships its runtime for darwin, linux and win32, x64 and arm64, and loads one.
describe("the image's ONNX Runtime", () => {
  it('keeps only the runtime of the platform it is built for', () => {
    const prune = dockerfile.replace(/\\\n/g, '').split('\n').filter((line) => line.startsWith('RUN ') && line.includes('onnxruntime-node/bin'));
    expect(prune).toHaveLength(1);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sift-prune-'));
    try {
      const bin = path.join(dir, 'node_modules/onnxruntime-node/bin/napi-v6');
      for (const platform of ['darwin/arm64', 'linux/arm64', 'linux/x64', 'win32/arm64', 'win32/x64']) {
        mkdirSync(path.join(bin, platform), { recursive: true });
        writeFileSync(path.join(bin, platform, 'onnxruntime_binding.node'), '');
      }
      // /bin/sh, as RUN runs it; `node` on PATH is this one.
      execFileSync('/bin/sh', ['-c', prune[0].slice('RUN '.length)], { cwd: dir, env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` } });
      expect(filesUnder(path.join(dir, 'node_modules/onnxruntime-node/bin'))).toEqual([`napi-v6/linux/${process.arch}/onnxruntime_binding.node`]);
      expect(readdirSync(bin)).toEqual(['linux']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is pruned in the build stage, after npm prune, and loaded there once to prove it', () => {
    const build = dockerfile.slice(0, dockerfile.indexOf('\nFROM ', dockerfile.indexOf('AS build')));
    const order = ['npm prune --omit=dev', 'onnxruntime-node/bin', `node -e "require('onnxruntime-node')"`].map((text) => build.indexOf(text));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});
