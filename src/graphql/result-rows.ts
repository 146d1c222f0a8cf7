import { getArgumentValues, getNamedType, isInterfaceType, isObjectType, Kind, type DocumentNode, type GraphQLNamedType, type GraphQLSchema, type SelectionSetNode } from 'graphql';
import { leftOut, operationToRun, type Variables } from './operation-to-run';

/** Fields that read stored result rows, by `Type.field`, and the argument that says how many. */
const ROW_FIELDS: Readonly<Record<string, string>> = { 'Batch.results': 'limit' };

/** Fields whose every item runs the selection under them again, by `Type.field`, and the argument that says how many items. */
const LIST_FIELDS: Readonly<Record<string, string>> = { 'Query.batches': 'first' };


/** A page size argument as execution will see it; a value the resolver refuses (not a whole number from 0) counts 0. */
function size(value: unknown): number {
  return Number.isInteger(value) && (value as number) >= 0 ? (value as number) : 0;
}

/**
 * How many stored result rows one operation would read at most: each `results` page's `limit`,
 * times the `first` of every `batches` list above it, over every alias, fragment and inline
 * fragment (a field selected twice under one name counts twice, though execution reads it once:
 * an upper bound). For a subscription, the rows of one event. Runs on a validated document (no
 * fragment cycles); each fragment is counted once and its count reused, so a document that spreads
 * fragments within fragments costs its length, not the number of paths through it. Variables
 * that cannot be coerced count nothing: execution refuses the request before any resolver runs.
 */
export function resultRows(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, rawVariables: Readonly<Variables> | null | undefined, maxListItems: number): number {
  const run = operationToRun(schema, document, operationName, rawVariables, maxListItems);
  const root = run ? schema.getRootType(run.operation.operation) : undefined;
  if (!run || !root) return 0;
  const { operation, variables, fragments } = run;
  const perFragment = new Map<string, number>();

  const rowsOf = (selectionSet: SelectionSetNode, parent: GraphQLNamedType | undefined): number => {
    let rows = 0;
    for (const selection of selectionSet.selections) {
      if (leftOut(selection, variables)) continue;
      if (selection.kind === Kind.FIELD) {
        if (!isObjectType(parent) && !isInterfaceType(parent)) continue;
        const definition = parent.getFields()[selection.name.value];
        if (!definition) continue; // __typename and the like
        let args: Variables;
        try {
          args = getArgumentValues(definition, selection, variables);
        } catch {
          continue; // execution fails this field on its arguments, before its resolver runs
        }
        const key = `${parent.name}.${definition.name}`;
        if (ROW_FIELDS[key]) rows += size(args[ROW_FIELDS[key]]);
        if (selection.selectionSet) rows += (LIST_FIELDS[key] ? size(args[LIST_FIELDS[key]]) : 1) * rowsOf(selection.selectionSet, getNamedType(definition.type));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        rows += rowsOf(selection.selectionSet, selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent);
      } else {
        const name = selection.name.value;
        let counted = perFragment.get(name);
        if (counted === undefined) {
          const fragment = fragments.get(name);
          counted = fragment ? rowsOf(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value)) : 0;
          perFragment.set(name, counted);
        }
        rows += counted;
      }
    }
    return rows;
  };
  return rowsOf(operation.selectionSet, root);
}
