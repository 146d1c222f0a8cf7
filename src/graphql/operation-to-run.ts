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
 * (then nothing of it runs, and it costs nothing), or when they hold more than `maxListItems` list
 * items: a request the query limits refuse for that (listItemsOver), which coercing would cost
 * more than refusing (a review's 8 MB body of 2,000,000 empty strings took 0.4 s a coercion).
 */
export function operationToRun(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, rawVariables: Readonly<Variables> | null | undefined, maxListItems: number): OperationToRun | null {
  const operation = getOperationAST(document, operationName);
  if (!operation || listItemsOver(rawVariables, maxListItems)) return null;
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

/**
 * Whether the items of every list in `value` (variables as the request sent them, at any depth)
 * number more than `limit`. Stops counting there, so it costs at most `limit` items, however
 * long the lists are; walked with a stack of its own, not by recursion, so a value nested a
 * hundred thousand deep is counted too, not a stack overflow (a 500).
 */
export function listItemsOver(value: unknown, limit: number): boolean {
  let items = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const node = pending.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      items += node.length;
      if (items > limit) return true;
      for (const item of node) if (typeof item === 'object' && item !== null) pending.push(item);
    } else {
      for (const key in node) {
        const item = (node as Record<string, unknown>)[key];
        if (typeof item === 'object' && item !== null) pending.push(item);
      }
    }
  }
  return false;
}
