import path from 'node:path';

/** The project's root (tests run compiled, from dist/tests/...). */
export const PROJECT_ROOT = path.resolve(__dirname, '../../..');
/** `../shared` beside the project, as in CI. */
export const SHARED_DIR = path.resolve(PROJECT_ROOT, '../shared');
export const BUNDLED_MODELS_DIR = path.join(PROJECT_ROOT, 'models');
