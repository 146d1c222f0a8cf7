import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, findBreakingChanges, isObjectType } from 'graphql';
import { buildSiftSchema, printSiftSchema } from '../../src/graphql/schema';
import { PROJECT_ROOT, SHARED_DIR } from '../support/paths';

const committedFile = path.join(PROJECT_ROOT, 'schema/schema.graphql');
const contractFile = path.join(SHARED_DIR, 'contract/schema.graphql');

describe('served schema', () => {
  it('matches the committed schema/schema.graphql (run `npm run schema` when this fails)', async () => {
    const emitted = printSiftSchema(await buildSiftSchema());
    expect(readFileSync(committedFile, 'utf8')).toBe(emitted);
  });

  it('is a compatible superset of the public contract', () => {
    const contract = buildSchema(readFileSync(contractFile, 'utf8'));
    const served = buildSchema(readFileSync(committedFile, 'utf8'));
    expect(findBreakingChanges(contract, served)).toEqual([]);
  });

  it('would notice a breaking change', () => {
    const contract = buildSchema(readFileSync(contractFile, 'utf8'));
    const broken = buildSchema(readFileSync(committedFile, 'utf8').replace('cachedPrediction(', 'cachedResult('));
    expect(findBreakingChanges(contract, broken)).toEqual([
      expect.objectContaining({ description: 'Query.cachedPrediction was removed.' }),
    ]);
  });

  it('reads plain data fields with graphql-js\'s default resolver, not a wrapper per field', async () => {
    // predictMany completes about 1,200 fields a request; type-graphql's per-field middleware
    // wrapper was a measurable share of its CPU. Only fields with a resolver of their own keep one.
    const schema = await buildSiftSchema();
    const withResolver = new Set(['Query', 'Mutation', 'Subscription']);
    const wrapped: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__') || withResolver.has(type.name)) continue;
      for (const field of Object.values(type.getFields())) if (field.resolve) wrapped.push(`${type.name}.${field.name}`);
    }
    expect(wrapped.sort()).toEqual(['Batch.results', 'Batch.resultsUrl']);
  });
});
