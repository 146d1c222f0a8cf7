import type { OnParseEventPayload, OnValidateEventPayload, AfterValidateHook } from '@envelop/core';
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import type { GraphQLArmorConfig } from '@escape.tech/graphql-armor-types';
import {
  getNamedType,
  GraphQLError,
  isIntrospectionType,
  parse,
  specifiedRules,
  validate,
  type ASTVisitor,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { isLoopbackHost, type SiftConfig } from '../config/config';
import { ErrorCodes } from '../errors';
import { modelTexts } from './model-work';
import { listItemsOver } from './operation-to-run';
import { resultRows } from './result-rows';
import type { EventRowBudget } from './subscription-row-budget';
import { submitAloneRule } from './submit-alone-rule';

/** What one GraphQL request may ask for, over HTTP and WebSocket alike. */
export interface QueryLimitSettings {
  /** `SIFT_MAX_ALIASES` */
  maxAliases: number;
  /** `SIFT_MAX_QUERY_DEPTH` */
  maxDepth: number;
  /** `SIFT_MAX_QUERY_TOKENS` */
  maxTokens: number;
  /** `SIFT_MAX_DIRECTIVES` */
  maxDirectives: number;
  /** `SIFT_MAX_TEXTS_PER_REQUEST`: texts sent to the models, summed over the request. */
  maxTexts: number;
  /** `SIFT_MAX_RESULT_ROWS_PER_REQUEST`: stored result rows read, summed over the request. */
  maxResultRows: number;
  /** Items of every list in the variables, together (see maxVariableListItems). */
  maxListItems: number;
  /** `SIFT_INTROSPECTION`, its default resolved: when false, suggestions are hidden too. */
  introspection: boolean;
}

/**
 * The settings from the config. Introspection, unless `SIFT_INTROSPECTION` says otherwise, is on in
 * development and on a loopback HOST (a local quick start, where Apollo Sandbox must work) and off
 * on any other: a server others reach does not describe itself to them.
 */
export function queryLimitSettings(config: SiftConfig): QueryLimitSettings {
  return {
    maxAliases: config.maxAliases,
    maxDepth: config.maxQueryDepth,
    maxTokens: config.maxQueryTokens,
    maxDirectives: config.maxDirectives,
    maxTexts: config.maxTextsPerRequest,
    maxResultRows: config.maxResultRowsPerRequest,
    maxListItems: maxVariableListItems(config),
    introspection: config.introspection === null ? config.development || isLoopbackHost(config.host) : config.introspection === 'on',
  };
}

/** Items the small lists of a request may add to its texts or rows (`textColumns`, say). */
const OTHER_LIST_ITEMS = 1000;

/**
 * The most list items a request's variables may hold, all lists together: the longest list any
 * field takes (predictMany's texts, an inline batch's rows) and room for small ones. Checked before
 * the variables are coerced: an 8 MB body holds millions of short items, and coercing them cost
 * the API's request thread 0.4 s each time, before any list's length was checked.
 */
export function maxVariableListItems(config: Pick<SiftConfig, 'maxTextsPerRequest' | 'maxInlineRows'>): number {
  return Math.max(config.maxTextsPerRequest, config.maxInlineRows) + OTHER_LIST_ITEMS;
}

/** A request refused for asking too much; `extensions` name the limit and the setting that sets it. */
export class QueryTooLargeError extends GraphQLError {
  constructor(message: string, setting: string, limit: number) {
    super(message, { extensions: { code: ErrorCodes.QUERY_TOO_LARGE, setting, limit } });
    this.name = 'QueryTooLargeError';
  }
}

/** graphql-armor's message ("Syntax Error: Aliases limit of 30 exceeded, found 31.") made Sift's: the setting, and what to do. */
function tooLarge(armorError: GraphQLError, setting: string, limit: number, advice: string): QueryTooLargeError {
  const detail = armorError.message.replace(/^Syntax Error: /, '').replace(/\.$/, '');
  return new QueryTooLargeError(`Query too large: ${detail}. The limit is set by ${setting}; ${advice}.`, setting, limit);
}

/** The validation rules report a refusal; the token counter, which runs inside the parser, throws it. */
function report(setting: string, limit: number, advice: string) {
  return [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(tooLarge(error, setting, limit, advice))];
}

function armorConfig(s: QueryLimitSettings): GraphQLArmorConfig {
  const refused = { propagateOnRejection: false, exposeLimits: true } as const;
  return {
    // Every alias counts, `__typename` ones too (armor lets those through by default).
    maxAliases: { n: s.maxAliases, allowList: [], ...refused, onReject: report('SIFT_MAX_ALIASES', s.maxAliases, 'ask for fewer aliased fields in one request') },
    // Fields only (a fragment is no level of its own). `__schema` is left to graphql-js's
    // MaxIntrospectionDepthRule: the standard introspection query Sandbox and codegen send is 15 deep.
    maxDepth: { n: s.maxDepth, flattenFragments: true, ignoreIntrospection: true, ...refused, onReject: report('SIFT_MAX_QUERY_DEPTH', s.maxDepth, 'select less deeply nested fields') },
    maxDirectives: { n: s.maxDirectives, ...refused, onReject: report('SIFT_MAX_DIRECTIVES', s.maxDirectives, 'use fewer directives in one request') },
    maxTokens: {
      n: s.maxTokens,
      exposeLimits: true,
      propagateOnRejection: true,
      onReject: [
        (_context, error) => {
          throw tooLarge(error, 'SIFT_MAX_QUERY_TOKENS', s.maxTokens, 'send long lists of texts as variables, which do not count');
        },
      ],
    },
    blockFieldSuggestion: { enabled: !s.introspection, mask: '' },
    // Sift's own rule counts texts from the variables too, which armor's cost limit cannot see.
    costLimit: { enabled: false },
  };
}

/** Refuses `__schema` and `__type` when introspection is off (`__typename` stays: clients rely on it). */
function introspectionOffRule(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      const type = getNamedType(context.getType());
      if (!type || !isIntrospectionType(type)) return;
      context.reportError(
        new GraphQLError(
          `Introspection is off on this server (SIFT_INTROSPECTION), so "${node.name.value}" cannot be queried; the schema is schema/schema.graphql in Sift's source.`,
          // Apollo's own words for this refusal, so GraphQL tools recognise it.
          { nodes: node, extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' } },
        ),
      );
      return false; // once for the field, not again for each field under it
    },
  };
}

/** The request a transport hands over: the query text, as sent, and the raw JSON variables. */
export interface GraphQLRequestText {
  query: string;
  operationName?: string | null;
  variables?: Readonly<Record<string, unknown>> | null;
}

/**
 * Every limit on what one GraphQL request may ask for, for any transport: graphql-armor's (tokens
 * while parsing; aliases, depth and directives while validating; field suggestions hidden when
 * introspection is off), introspection itself, and Sift's own limit on the texts a request sends to
 * the models. Every refusal comes before any resolver runs, with `extensions.code`
 * `QUERY_TOO_LARGE` and a message that names the setting. The rules also hold one that is no
 * limit, `submitAloneRule` (submit-alone-rule.ts), for the same reason: both transports apply them.
 *
 * graphql-armor's pieces are taken from its envelop plugins (its Apollo ones answer a token
 * refusal with a 500, and leave "[Suggestion hidden]?" in messages): Sift applies them itself.
 */
export class QueryLimits {
  /** Validation rules to run beside graphql-js's own (Apollo's `validationRules`). */
  readonly rules: readonly ValidationRule[];
  private parseWithin: (source: string) => DocumentNode = (source) => parse(source);
  private readonly afterValidation: AfterValidateHook<object>[] = [];

  constructor(readonly settings: QueryLimitSettings) {
    const rules: ValidationRule[] = [];
    for (const plugin of new EnvelopArmor(armorConfig(settings)).protect().plugins) {
      // The two hooks armor's plugins have, called as envelop would; they use only what is given here.
      const onParse: Pick<OnParseEventPayload<object>, 'setParseFn'> = { setParseFn: (fn) => (this.parseWithin = (source) => fn(source) as DocumentNode) };
      const onValidate: Pick<OnValidateEventPayload<object>, 'addValidationRule'> = { addValidationRule: (rule: ValidationRule) => rules.push(rule) };
      plugin.onParse?.(onParse as OnParseEventPayload<object>);
      const after = plugin.onValidate?.(onValidate as OnValidateEventPayload<object>);
      if (after) this.afterValidation.push(after);
    }
    if (!settings.introspection) rules.push(introspectionOffRule);
    // Not a limit on size, but a rule every transport must apply before any field runs, as these are.
    rules.push(submitAloneRule);
    this.rules = rules;
  }

  /**
   * Parses a query, counting its tokens as it goes: past `SIFT_MAX_QUERY_TOKENS` it stops and
   * throws a `QueryTooLargeError`, so a huge document costs no more than the limit. Syntax errors
   * throw graphql-js's GraphQLError.
   */
  parse(source: string): DocumentNode {
    return this.parseWithin(source);
  }

  /** Takes "Did you mean …?" out of error messages when suggestions are off (in place). */
  hideSuggestions(errors: readonly GraphQLError[]): void {
    for (const after of this.afterValidation) after({ valid: errors.length === 0, result: errors, setResult: () => undefined } as never);
    if (this.settings.introspection) return;
    // armor's pattern wants a quote right after "Did you mean"; graphql-js words an enum's as 'Did you mean the enum value "X"?'.
    for (const error of errors) error.message = error.message.replace(/ ?Did you mean the enum value .+\?$/, '');
  }

  /** The refusal of a request whose variables hold more list items than any request can use (maxVariableListItems), before they are coerced. */
  listItemsError(variables: GraphQLRequestText['variables']): QueryTooLargeError | undefined {
    const limit = this.settings.maxListItems;
    if (!listItemsOver(variables, limit)) return undefined;
    return new QueryTooLargeError(
      `Query too large: its variables hold more than ${limit} list items, more than any request can use (SIFT_MAX_TEXTS_PER_REQUEST texts for predictMany, SIFT_MAX_INLINE_ROWS rows for an inline batch). Split them over several requests, or upload a file (POST /batches).`,
      'SIFT_MAX_TEXTS_PER_REQUEST',
      limit,
    );
  }

  /** The refusal of a request that would send more texts to the models than `SIFT_MAX_TEXTS_PER_REQUEST`, if it would. */
  modelWorkError(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: GraphQLRequestText['variables']): QueryTooLargeError | undefined {
    const limit = this.settings.maxTexts;
    const texts = modelTexts(schema, document, operationName, variables, limit, this.settings.maxListItems);
    if (texts <= limit) return undefined;
    return new QueryTooLargeError(
      `Query too large: it would send ${texts} texts to the model, more than the limit of ${limit} a request (SIFT_MAX_TEXTS_PER_REQUEST), counting 1 for each predict and every text of each predictMany. Split them over several requests, or submit a batch.`,
      'SIFT_MAX_TEXTS_PER_REQUEST',
      limit,
    );
  }

  /**
   * The refusal of a request that would read more stored result rows than
   * `SIFT_MAX_RESULT_ROWS_PER_REQUEST`, if it would: `batches(first: 100)` with `results(limit:
   * 1000)` under it, in a few aliases, read millions of rows (a review: 200 MB answered to a
   * 75-byte request, Redis then too busy to answer other keys).
   */
  resultRowsError(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: GraphQLRequestText['variables']): QueryTooLargeError | undefined {
    const limit = this.settings.maxResultRows;
    const rows = resultRows(schema, document, operationName, variables, this.settings.maxListItems);
    if (rows <= limit) return undefined;
    return new QueryTooLargeError(
      `Query too large: it would read up to ${rows} result rows, more than the limit of ${limit} a request (SIFT_MAX_RESULT_ROWS_PER_REQUEST), counting each results page's limit times the first of the batches list above it. Ask for fewer batches or smaller pages, or download a batch's results (resultsUrl).`,
      'SIFT_MAX_RESULT_ROWS_PER_REQUEST',
      limit,
    );
  }

  /** The first refusal of a request's work once its operation and variables are known: texts to the models, then result rows. */
  workError(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: GraphQLRequestText['variables']): QueryTooLargeError | undefined {
    return this.listItemsError(variables) ?? this.modelWorkError(schema, document, operationName, variables) ?? this.resultRowsError(schema, document, operationName, variables);
  }

  /**
   * What a subscription may read over its events (subscription-row-budget.ts): the rows of one
   * event as `resultRows` counts them, against the same SIFT_MAX_RESULT_ROWS_PER_REQUEST.
   */
  eventRowBudget(): EventRowBudget {
    const limit = this.settings.maxResultRows;
    return {
      limit,
      rowsPerEvent: (args) => resultRows(args.schema, args.document, args.operationName, args.variableValues, this.settings.maxListItems),
      refusal: (perEvent, events) =>
        new QueryTooLargeError(
          `Subscription too large: each of its events reads ${perEvent} result rows again (a results page under batchProgress's batch), and its ${events} events read ${perEvent * events}; the next would pass the limit of ${limit} a request (SIFT_MAX_RESULT_ROWS_PER_REQUEST), so it ends here. Select rows { ... } for the rows as they finish, or query batch { results } once the batch has ended.`,
          'SIFT_MAX_RESULT_ROWS_PER_REQUEST',
          limit,
        ),
    };
  }

  /**
   * The whole check for a transport that parses and validates by itself (graphql-ws): parse within
   * the token limit, graphql-js's rules and these, then the model work. Answers the errors to
   * send, or the arguments to execute with.
   */
  check(schema: GraphQLSchema, request: GraphQLRequestText): ExecutionArgs | readonly GraphQLError[] {
    let document: DocumentNode;
    try {
      document = this.parse(request.query);
    } catch (error) {
      return [error instanceof GraphQLError ? error : new GraphQLError(String(error))];
    }
    const errors = validate(schema, document, [...specifiedRules, ...this.rules]);
    if (errors.length > 0) {
      this.hideSuggestions(errors);
      return errors;
    }
    const tooMuch = this.workError(schema, document, request.operationName, request.variables);
    if (tooMuch) return [tooMuch];
    return {
      schema,
      document,
      operationName: request.operationName,
      variableValues: request.variables,
      // Variable coercion errors at execution: graphql-js's own switch for what armor hides in validation.
      hideSuggestions: !this.settings.introspection,
    };
  }
}
