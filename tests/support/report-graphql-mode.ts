/**
 * Preloaded (`node -r`) into an entry point by tests/cli/entry-points.test.ts: at the moment
 * graphql-js is first required, prints the NODE_ENV it will see and exits, before the entry point
 * starts anything. graphql-js reads NODE_ENV once, at load, to pick its fast or its checking mode.
 */
import Module from 'node:module';

type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
const loader = Module as unknown as { _load: Load };
const load = loader._load;
loader._load = function (request, parent, isMain) {
  if (request === 'graphql' || request.startsWith('graphql/')) {
    process.stdout.write(`graphql loaded with NODE_ENV=${process.env.NODE_ENV ?? '(unset)'}\n`);
    process.exit(0);
  }
  return load.call(this, request, parent, isMain);
};
