// Tests are compiled by `tsc` first (see the "test" script) and Jest runs the emitted JavaScript.
// That keeps decorator metadata (type-graphql needs it) and lets worker threads load real .js files.
/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  roots: ['<rootDir>/dist/tests'],
  testMatch: ['**/*.test.js'],
  testEnvironment: '<rootDir>/dist/tests/support/node-environment.js',
  setupFiles: ['reflect-metadata'],
  testTimeout: 30000,
  maxWorkers: 2,
};
