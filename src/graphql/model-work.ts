import { getArgumentValues, Kind, type DocumentNode, type FieldNode, type FragmentDefinitionNode, type GraphQLSchema, type SelectionSetNode } from 'graphql';
import { leftOut, operationToRun, type Variables } from './operation-to-run';

/**
 * The Query fields that run a model, and how many texts each sends, from its coerced arguments.
 * `cachedPrediction` never runs a model; a batch's rows run on workers, bounded by
 * `SIFT_MAX_INLINE_ROWS`.
 */
const MODEL_FIELDS: Readonly<Record<string, (args: Record<string, unknown>) => number>> = {
  predict: () => 1,
  predictMany: (args) => (Array.isArray(args.texts) ? args.texts.length : 1),
};

/**
 * The root fields that execution will run, one per response key, as graphql-js collects them: a
 * field selected twice under one name (directly, or through two spreads of one fragment) runs
 * once; every alias is a field of its own.
 */
function rootFields(
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  variables: Variables,
  fields = new Map<string, FieldNode>(),
  spread = new Set<string>(),
): Map<string, FieldNode> {
  for (const selection of selectionSet.selections) {
    if (leftOut(selection, variables)) continue;
    if (selection.kind === Kind.FIELD) {
      const key = selection.alias?.value ?? selection.name.value;
      if (!fields.has(key)) fields.set(key, selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      rootFields(selection.selectionSet, fragments, variables, fields, spread);
    } else if (!spread.has(selection.name.value)) {
      spread.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      if (fragment) rootFields(fragment.selectionSet, fragments, variables, fields, spread);
    }
  }
  return fields;
}

/**
 * How many texts one request would send to the models: 1 for each `predict`, the number of texts
 * of each `predictMany` (a literal list's length, or its variable's, after the variables are
 * coerced as execution will coerce them), over every field the operation runs: aliases, fragments
 * and inline fragments included. Runs on a validated document, before execution.
 *
 * A `predictMany` with more than `perFieldLimit` texts counts nothing: its resolver refuses it
 * (`BAD_LIST_SIZE`) before any model runs. Variables that cannot be coerced count nothing either:
 * execution then refuses the whole request before any resolver runs.
 */
export function modelTexts(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: Readonly<Variables> | null | undefined,
  perFieldLimit: number,
  /** Variables with more list items count nothing: the query limits refuse them (operationToRun). */
  maxListItems: number,
): number {
  const run = operationToRun(schema, document, operationName, rawVariables, maxListItems);
  const queryType = schema.getQueryType();
  if (!run || run.operation.operation !== 'query' || !queryType) return 0;
  const { operation, variables, fragments } = run;
  let texts = 0;
  for (const field of rootFields(operation.selectionSet, fragments, variables).values()) {
    const count = MODEL_FIELDS[field.name.value];
    const definition = queryType.getFields()[field.name.value];
    if (!count || !definition) continue;
    let args: Variables;
    try {
      args = getArgumentValues(definition, field, variables);
    } catch {
      continue; // Execution fails this field on its arguments, before its resolver runs.
    }
    const n = count(args);
    if (n <= perFieldLimit) texts += n;
  }
  return texts;
}
