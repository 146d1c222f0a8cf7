import { getArgumentValues, getNamedType, isObjectType, Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * The nodes of each `field` the query selects directly under the field being resolved, through
 * fragments and inline fragments (a fragment spread twice gives its fields once).
 */
function selectedFields(info: GraphQLResolveInfo, field: string): FieldNode[] {
  const nodes: FieldNode[] = [];
  const seen = new Set<string>();
  const collect = (set: SelectionSetNode | undefined): void => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === field) nodes.push(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        collect(info.fragments[selection.name.value]?.selectionSet);
      }
    }
  };
  for (const node of info.fieldNodes) collect(node.selectionSet);
  return nodes;
}

/**
 * Whether the query selects `field` directly under the field being resolved (through fragments
 * too). A `batchProgress` subscriber that selects no `rows` then costs the server no row reads.
 */
export function selectsField(info: GraphQLResolveInfo, field: string): boolean {
  return selectedFields(info, field).length > 0;
}

/**
 * The arguments (variables and defaults applied) of each `field` the query selects directly under
 * the field being resolved (through fragments too), for a resolver that must check them before it
 * acts: `submitBatch` refuses bad `results` paging before it creates the batch, as that field's
 * error would null the whole answer, and the new batch's id with it. A field under `@skip` or
 * `@include` is given too: its arguments are wrong either way.
 */
export function selectedFieldArguments(info: GraphQLResolveInfo, field: string): Record<string, unknown>[] {
  const parent = getNamedType(info.returnType);
  const definition = isObjectType(parent) ? parent.getFields()[field] : undefined;
  if (!definition) return [];
  return selectedFields(info, field).map((node) => getArgumentValues(definition, node, info.variableValues));
}
