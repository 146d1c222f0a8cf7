/**
 * Preloaded into a Sift process by a test (`NODE_OPTIONS=--require <this file>`): when the process
 * exits, it writes the files of every CommonJS module it loaded, one a line, to the file
 * `SIFT_TEST_MODULE_PROBE` names. Tests read it to see what a process never loaded.
 */
import { writeFileSync } from 'node:fs';

const target = process.env.SIFT_TEST_MODULE_PROBE;
if (target) process.on('exit', () => writeFileSync(target, Object.keys(require.cache).join('\n')));
