import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema, type PubSub } from 'type-graphql';
import { BatchResolver } from './resolvers/batch-resolver';
import { PredictionResolver } from './resolvers/prediction-resolver';

// Subscription resolvers bring their own `subscribe` functions; type-graphql still asks for a
// PubSub, so one that refuses use makes any accidental topic-based subscription fail loudly.
const noTopicPubSub: PubSub = {
  publish: () => {
    throw new Error('Sift subscriptions do not publish through type-graphql topics');
  },
  subscribe: () => {
    throw new Error('Sift subscriptions do not subscribe through type-graphql topics');
  },
};

/**
 * Builds the served schema from the decorated classes (code first). Every object type is declared
 * with `simpleResolvers`: its fields are plain data, read by graphql-js's default resolver rather
 * than through type-graphql's per-field middleware wrapper (Sift uses no field middleware).
 */
export function buildSiftSchema(): Promise<GraphQLSchema> {
  return buildSchema({ resolvers: [PredictionResolver, BatchResolver], validate: false, pubSub: noTopicPubSub });
}

/** The schema as SDL, sorted so the committed `schema/schema.graphql` diffs cleanly. */
export function printSiftSchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
