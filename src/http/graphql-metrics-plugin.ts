import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type DocumentNode } from 'graphql';
import * as documents from '../client/generated/graphql';
import type { HttpMetrics } from '../metrics/http-metrics';

/**
 * Sift's own operations (src/client/operations.graphql, as the generated client has them): the
 * `operation` label's values besides `other`, so a client cannot add label values by naming its
 * operations.
 */
export const KNOWN_OPERATIONS: ReadonlySet<string> = new Set(
  Object.values(documents as Record<string, unknown>).flatMap((value) =>
    (value as DocumentNode | null)?.kind === Kind.DOCUMENT
      ? (value as DocumentNode).definitions.flatMap((definition) => (definition.kind === Kind.OPERATION_DEFINITION && definition.name ? [definition.name.value] : []))
      : [],
  ),
);

/** The `operation` label of an operation named `name` (null for an anonymous one). */
export function operationLabel(name: string | null | undefined): string {
  return name && KNOWN_OPERATIONS.has(name) ? name : 'other';
}

/**
 * Counts each GraphQL operation over HTTP once its answer is ready: by operation, `ok` or `error`
 * (the answer carries errors: invalid, refused, a resolver's error), and how long it took. A
 * request refused before Apollo runs it (a missing key, a rate limit, a body that is not JSON)
 * is counted by `sift_http_requests_total` alone.
 */
export function graphqlMetricsPlugin(metrics: HttpMetrics): ApolloServerPlugin {
  return {
    async requestDidStart() {
      if (!metrics.enabled) return;
      const started = performance.now();
      return {
        async willSendResponse({ operationName, request, response }) {
          const body = response.body;
          const failed = (body.kind === 'single' ? (body.singleResult.errors?.length ?? 0) > 0 : (body.initialResult.errors?.length ?? 0) > 0) || (response.http.status ?? 200) >= 400;
          metrics.operation(operationLabel(operationName ?? request.operationName), failed ? 'error' : 'ok', (performance.now() - started) / 1000);
        },
      };
    },
  };
}
