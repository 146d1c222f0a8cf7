import {
  getDirectiveValues,
  getOperationAST,
  getVariableValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type FragmentSpreadNode,
  type GraphQLSchema,
  type InlineFragmentNode,
  type OperationDefinitionNode,
} from 'graphql';

export type Variables = Record<string, unknown>;

/** An operation of a validated document as execution will see it, for counting its work before it runs. */
export interface OperationToRun {
  operation: OperationDefinitionNode;
  /** Its variables, coerced as execution coerces them. */
  variables: Variables;
  /** The document's fragments by name. */
  fragments: ReadonlyMap<string, FragmentDefinitionNode>;
}

/**
 * The operation `operationName` picks in `document`, with its variables coerced and the fragments
 * at hand; null when there is no such operation, or when execution would refuse its variables
 * (then nothing of it runs, and it costs nothing).
 */
export function operationToRun(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, rawVariables: Readonly<Variables> | null | undefined): OperationToRun | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {}, { maxErrors: 1 });
  if (coerced.errors) return null;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  return { operation, variables: coerced.coerced, fragments };
}

/** `@skip(if: true)` or `@include(if: false)`: left out at execution, so it costs nothing. */
export function leftOut(node: FieldNode | FragmentSpreadNode | InlineFragmentNode, variables: Variables): boolean {
  return getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true || getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if === false;
}
