/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "fragment PredictionFields on Prediction {\n  text\n  label\n  score\n  scores {\n    label\n    score\n  }\n  model\n  modelVersion\n  cached\n}\n\nquery Predict($text: String!, $model: String) {\n  predict(text: $text, model: $model) {\n    ...PredictionFields\n  }\n}\n\nquery PredictMany($texts: [String!]!, $model: String) {\n  predictMany(texts: $texts, model: $model) {\n    ...PredictionFields\n  }\n}\n\nquery CachedPrediction($text: String!, $model: String) {\n  cachedPrediction(text: $text, model: $model) {\n    ...PredictionFields\n  }\n}\n\nquery Models {\n  models {\n    name\n    version\n    labels\n    isDefault\n    maxTextLength\n  }\n}\n\nsubscription BatchProgress($id: ID!) {\n  batchProgress(id: $id) {\n    batch {\n      id\n      status\n      total\n      processed\n      succeeded\n      failed\n      cached\n      rowsPerSecond\n      etaSeconds\n      error\n    }\n    rows {\n      index\n      id\n      text\n      error\n      prediction {\n        ...PredictionFields\n      }\n    }\n  }\n}": typeof types.PredictionFieldsFragmentDoc,
};
const documents: Documents = {
    "fragment PredictionFields on Prediction {\n  text\n  label\n  score\n  scores {\n    label\n    score\n  }\n  model\n  modelVersion\n  cached\n}\n\nquery Predict($text: String!, $model: String) {\n  predict(text: $text, model: $model) {\n    ...PredictionFields\n  }\n}\n\nquery PredictMany($texts: [String!]!, $model: String) {\n  predictMany(texts: $texts, model: $model) {\n    ...PredictionFields\n  }\n}\n\nquery CachedPrediction($text: String!, $model: String) {\n  cachedPrediction(text: $text, model: $model) {\n    ...PredictionFields\n  }\n}\n\nquery Models {\n  models {\n    name\n    version\n    labels\n    isDefault\n    maxTextLength\n  }\n}\n\nsubscription BatchProgress($id: ID!) {\n  batchProgress(id: $id) {\n    batch {\n      id\n      status\n      total\n      processed\n      succeeded\n      failed\n      cached\n      rowsPerSecond\n      etaSeconds\n      error\n    }\n    rows {\n      index\n      id\n      text\n      error\n      prediction {\n        ...PredictionFields\n      }\n    }\n  }\n}": types.PredictionFieldsFragmentDoc,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment PredictionFields on Prediction {\n  text\n  label\n  score\n  scores {\n    label\n    score\n  }\n  model\n  modelVersion\n  cached\n}\n\nquery Predict($text: String!, $model: String) {\n  predict(text: $text, model: $model) {\n    ...PredictionFields\n  }\n}\n\nquery PredictMany($texts: [String!]!, $model: String) {\n  predictMany(texts: $texts, model: $model) {\n    ...PredictionFields\n  }\n}\n\nquery CachedPrediction($text: String!, $model: String) {\n  cachedPrediction(text: $text, model: $model) {\n    ...PredictionFields\n  }\n}\n\nquery Models {\n  models {\n    name\n    version\n    labels\n    isDefault\n    maxTextLength\n  }\n}\n\nsubscription BatchProgress($id: ID!) {\n  batchProgress(id: $id) {\n    batch {\n      id\n      status\n      total\n      processed\n      succeeded\n      failed\n      cached\n      rowsPerSecond\n      etaSeconds\n      error\n    }\n    rows {\n      index\n      id\n      text\n      error\n      prediction {\n        ...PredictionFields\n      }\n    }\n  }\n}"): (typeof documents)["fragment PredictionFields on Prediction {\n  text\n  label\n  score\n  scores {\n    label\n    score\n  }\n  model\n  modelVersion\n  cached\n}\n\nquery Predict($text: String!, $model: String) {\n  predict(text: $text, model: $model) {\n    ...PredictionFields\n  }\n}\n\nquery PredictMany($texts: [String!]!, $model: String) {\n  predictMany(texts: $texts, model: $model) {\n    ...PredictionFields\n  }\n}\n\nquery CachedPrediction($text: String!, $model: String) {\n  cachedPrediction(text: $text, model: $model) {\n    ...PredictionFields\n  }\n}\n\nquery Models {\n  models {\n    name\n    version\n    labels\n    isDefault\n    maxTextLength\n  }\n}\n\nsubscription BatchProgress($id: ID!) {\n  batchProgress(id: $id) {\n    batch {\n      id\n      status\n      total\n      processed\n      succeeded\n      failed\n      cached\n      rowsPerSecond\n      etaSeconds\n      error\n    }\n    rows {\n      index\n      id\n      text\n      error\n      prediction {\n        ...PredictionFields\n      }\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;