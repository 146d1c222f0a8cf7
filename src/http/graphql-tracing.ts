import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import { getOperationAST, type DocumentNode } from 'graphql';
import { activeSpan, contextFromHeaders, failSpanWith, inContext, SpanAttributes, SpanKind, SpanNames, startSpan, type Span } from '../tracing/spans';

/** Spans whose outcome the Apollo plugin has set (the middleware then leaves it alone). */
const judged = new WeakSet<Span>();

/**
 * First of every HTTP request with tracing on: a caller's W3C `traceparent` header, when it sends
 * one, becomes the context the request is handled in, so Sift's spans join the caller's trace.
 */
export function traceContextFromHeaders(): RequestHandler {
  return (req, _res, next) => inContext(contextFromHeaders(req.headers), next);
}

/**
 * A span around each GraphQL request over HTTP, active while Apollo handles it, so that the
 * spans of what it does (a model run, a batch submission) are its children. The Apollo plugin
 * names it once the operation is known (see `graphqlTracingPlugin`); a request refused before
 * Apollo runs it keeps the name `graphql anonymous`, failed by its HTTP status.
 */
export function graphqlSpans(): RequestHandler {
  return (req, res, next) => {
    // Operations only: not a CORS preflight, nor a browser opening the landing page.
    if (req.method !== 'POST' && !(req.method === 'GET' && typeof req.query.query === 'string')) return next();
    const { span, context } = startSpan(SpanNames.graphql(null), { kind: SpanKind.SERVER, attributes: { [SpanAttributes.HTTP_METHOD]: req.method } });
    res.once('close', () => {
      span.setAttribute(SpanAttributes.HTTP_STATUS, res.statusCode);
      if (!judged.has(span) && (res.statusCode >= 400 || !res.writableFinished)) failSpanWith(span, res.writableFinished ? `HTTP ${res.statusCode}` : 'the client went away before the answer');
      span.end();
    });
    inContext(context, next);
  };
}

/** The operation a request runs, when its document parsed: its name (null when anonymous) and type. */
function operationOf(document: DocumentNode | undefined, operationName: string | null | undefined): { name: string | null; type: string } | null {
  const operation = document && getOperationAST(document, operationName ?? undefined);
  return operation ? { name: operation.name?.value ?? null, type: operation.operation } : null;
}

/**
 * Names the request's span `graphql <operation name>` (`graphql anonymous` for an unnamed one) and
 * gives it `graphql.operation.name` and `graphql.operation.type`; an answer that carries errors
 * fails it with their codes. No document, variable or error message goes on the span: they may
 * hold the client's texts.
 */
export function graphqlTracingPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const span = activeSpan();
      if (!span?.isRecording()) return;
      return {
        async willSendResponse({ document, request, response }) {
          const operation = operationOf(document, request.operationName);
          if (operation) {
            span.updateName(SpanNames.graphql(operation.name));
            span.setAttribute(SpanAttributes.GRAPHQL_OPERATION_TYPE, operation.type);
            if (operation.name) span.setAttribute(SpanAttributes.GRAPHQL_OPERATION_NAME, operation.name);
          }
          const body = response.body;
          const errors = (body.kind === 'single' ? body.singleResult.errors : body.initialResult.errors) ?? [];
          if (errors.length > 0) {
            const codes = [...new Set(errors.map((error) => String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR')))];
            span.setAttribute(SpanAttributes.ERROR_CODES, codes);
            failSpanWith(span, codes.join(', '));
          }
          judged.add(span);
        },
      };
    },
  };
}
