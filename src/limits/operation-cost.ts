// The cost estimate of one operation, with its variables applied. graphql-armor's cost limit runs as a
// validation rule, which sees the document but not the variables (and Yoga caches validation per
// document): `apiKeys(first: $n)` counted as one key whatever $n was. This is armor's formula (a field
// with a selection costs 2 plus 1.5 times each child, a leaf 1, and a `first` or `last` argument
// multiplies its field), with the argument's value taken from the literal, the request's variable, the
// variable's default or the field's default in the schema (apiKeys without `first` lists 25 keys).
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  isInterfaceType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

/**
 * What one `__schema` or `__type` selection costs, whatever it selects. armor leaves introspection out;
 * priced at 0, 15 aliased full introspections in one request cost nothing, were never charged to the
 * key's budget, and kept the server busy 21 ms a request (15 aliased `__type` with their fields and
 * types, priced by the formula at 2,822, 19 ms). Measured on this schema (server CPU a request):
 * GraphiQL's full introspection 1.4 ms, a page of 250 keys with every field (estimated at about 48,000)
 * 1.6 ms kept and more read afresh. So an introspection counts as about half the largest page: one
 * passes the default cost limit (50,000) and is charged to the key's cost budget per minute, three in
 * one request do not pass.
 */
export const INTROSPECTION_COST = 20_000;

const OBJECT_COST = 2;
const SCALAR_COST = 1;
const DEPTH_FACTOR = 1.5;

export interface OperationCost {
  cost: number;
  /** Whether a variable set a multiplier: then the cost may differ from one request to the next. */
  variable: boolean;
}

export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
): OperationCost {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const variableDefaults = new Map<string, ValueNode>();
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) variableDefaults.set(definition.variable.name.value, definition.defaultValue);
  }
  let variable = false;
  const fragmentCosts = new Map<string, number>();

  const intOf = (value: ValueNode): number | undefined => {
    if (value.kind === Kind.INT) return Number.parseInt(value.value, 10);
    if (value.kind !== Kind.VARIABLE) return undefined;
    variable = true;
    const given = variables?.[value.name.value];
    if (typeof given === 'number') return given;
    const fallback = variableDefaults.get(value.name.value);
    return fallback?.kind === Kind.INT ? Number.parseInt(fallback.value, 10) : undefined;
  };

  /**
   * The `first` or `last` of a field, as armor reads it; when it is left out, null, or a variable sent
   * as null or not at all (without a default), the schema's default of either: the page size the
   * resolver then uses (a variable left out must not make a page of 25 count as one).
   */
  const multiplierOf = (field: FieldNode, definition: GraphQLField<unknown, unknown> | undefined): number => {
    const argument = field.arguments?.find((arg) => arg.name.value === 'first' || arg.name.value === 'last');
    let value = argument ? intOf(argument.value) : undefined;
    if (value === undefined) {
      const fallback = definition?.args.find((arg) => arg.name === 'first' || arg.name === 'last')?.defaultValue;
      if (typeof fallback === 'number') value = fallback;
    }
    return value !== undefined && Number.isFinite(value) ? Math.max(value, 1) : 1;
  };

  const fieldOf = (type: GraphQLNamedType | undefined, name: string) =>
    type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[name] : undefined;

  const selectionsCost = (selectionSet: SelectionSetNode, type: GraphQLNamedType | undefined): number => {
    let cost = OBJECT_COST;
    for (const selection of selectionSet.selections) cost += DEPTH_FACTOR * selectionCost(selection, type);
    return cost;
  };

  function selectionCost(selection: SelectionSetNode['selections'][number], type: GraphQLNamedType | undefined) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === '__schema' || selection.name.value === '__type') return INTROSPECTION_COST;
      if (!selection.selectionSet) return SCALAR_COST;
      const definition = fieldOf(type, selection.name.value);
      const inner = definition ? getNamedType(definition.type) : undefined;
      return selectionsCost(selection.selectionSet, inner) * multiplierOf(selection, definition);
    }
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const inner = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
      return selectionsCost(selection.selectionSet, inner ?? undefined);
    }
    const name = selection.name.value;
    let cost = fragmentCosts.get(name);
    if (cost === undefined) {
      const fragment = fragments.get(name);
      // Validation refuses unknown fragments and cycles; the mark only keeps a bad document finite.
      fragmentCosts.set(name, 0);
      cost = fragment
        ? selectionsCost(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value) ?? undefined)
        : 0;
      fragmentCosts.set(name, cost);
    }
    return SCALAR_COST + DEPTH_FACTOR * cost;
  }

  const root =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  let cost = 0;
  for (const selection of operation.selectionSet.selections) cost += selectionCost(selection, root ?? undefined);
  return { cost, variable };
}

/**
 * The response keys of an operation's root fields, through fragments (introspection's `__typename`
 * and the like left out): what a mutation would run, one field after the other.
 */
export function rootFields(document: DocumentNode, operation: OperationDefinitionNode): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const keys = new Set<string>();
  const visited = new Set<string>();
  const collect = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (!selection.name.value.startsWith('__')) keys.add(selection.alias?.value ?? selection.name.value);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collect(selection.selectionSet);
      } else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) collect(fragment.selectionSet);
      }
    }
  };
  collect(operation.selectionSet);
  return [...keys];
}
