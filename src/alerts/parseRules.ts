import { readFile } from 'node:fs/promises';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { RuleError } from '../errors.js';
import type { Aggregation, LabelMatcher } from '../store/queryTimeSeries.js';
import type { Severity } from '../store/regressionRecords.js';
import type { AlertRule, Comparison, MetricSelector } from './AlertRule.js';
import { RULES_FILE_SCHEMA } from './ruleSchema.js';

/** The rules file as written, after schema validation. */
interface SelectorInput {
  metric: string;
  where?: Record<string, string>;
  service?: string;
  matchers?: string[];
}
interface RuleInput {
  name: string;
  description?: string;
  selector?: SelectorInput;
  ratio?: { numerator: SelectorInput | SelectorInput[]; denominator: SelectorInput };
  aggregation?: Aggregation;
  window?: string;
  group_by?: string[];
  comparison: Comparison;
  threshold: number;
  tolerance?: number;
  for?: string;
  clear_threshold?: number;
  keep_firing_for?: string;
  severity?: Severity;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  enabled?: boolean;
}

// Compiled once: ajv generates the validator code on compile.
const validateFile = new Ajv({ allErrors: true, strict: true }).compile(RULES_FILE_SCHEMA);

/** Reads and validates a rules file (YAML or JSON); a RuleError names the file, the rule and the field. */
export async function loadRulesFile(path: string): Promise<AlertRule[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new RuleError(undefined, 'file', `cannot read it: ${(error as Error).message}`, path);
  }
  return parseRules(text, path);
}

/**
 * Validates rules given as YAML or JSON text (`source` names it in errors). Defaults: aggregation
 * `avg` (`rate` for ratios), window 5m, for 0s, severity warning, tolerance 1e-9, enabled.
 */
export function parseRules(text: string, source = 'rules'): AlertRule[] {
  let document: unknown;
  try {
    // YAML 1.2 is a superset of JSON: one parser reads both.
    document = parseYaml(text, { uniqueKeys: true });
  } catch (error) {
    const at = error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0].line})` : '';
    throw new RuleError(
      undefined,
      'file',
      `not valid YAML or JSON${at}: ${(error as Error).message}`,
      source,
    );
  }
  if (document === null || document === undefined) {
    throw new RuleError(undefined, 'file', 'is empty; it needs a `rules:` list', source);
  }
  if (!validateFile(document)) throw schemaError(document, validateFile.errors ?? [], source);
  const inputs = (document as { rules: RuleInput[] }).rules;
  const seen = new Set<string>();
  return inputs.map((input) => {
    if (seen.has(input.name))
      throw new RuleError(input.name, 'name', 'is used by an earlier rule too', source);
    seen.add(input.name);
    return toRule(input, source);
  });
}

function toRule(input: RuleInput, source: string): AlertRule {
  const fail = (field: string, message: string) => new RuleError(input.name, field, message, source);
  if ((input.selector === undefined) === (input.ratio === undefined)) {
    throw fail('selector', 'give exactly one of `selector` or `ratio`');
  }
  const comparison = input.comparison;
  const threshold = input.threshold;
  const clearThreshold = input.clear_threshold;
  if (clearThreshold !== undefined) {
    if (comparison === '==' || comparison === '!=') {
      throw fail('clear_threshold', `cannot be used with ${comparison}; only with > >= < <=`);
    }
    const above = comparison === '>' || comparison === '>=';
    if (above ? clearThreshold > threshold : clearThreshold < threshold) {
      throw fail(
        'clear_threshold',
        `${clearThreshold} must be ${above ? 'at most' : 'at least'} the threshold ${threshold}: a firing alert resolves once the value is back past it`,
      );
    }
  }
  const aggregation = input.aggregation ?? (input.ratio ? 'rate' : 'avg');
  const query: AlertRule['query'] = input.selector
    ? { kind: 'selector', selector: toSelector(input.selector, 'selector', fail) }
    : {
        kind: 'ratio',
        numerator: (Array.isArray(input.ratio!.numerator)
          ? input.ratio!.numerator
          : [input.ratio!.numerator]
        ).map((s, i, all) =>
          toSelector(s, all.length > 1 ? `ratio.numerator[${i}]` : 'ratio.numerator', fail),
        ),
        denominator: toSelector(input.ratio!.denominator, 'ratio.denominator', fail),
      };
  return Object.freeze({
    name: input.name,
    description: input.description ?? '',
    query,
    aggregation,
    windowMillis: durationMillis(input.window ?? '5m', 'window', fail, 1),
    groupBy: Object.freeze([...(input.group_by ?? [])]),
    comparison,
    threshold,
    tolerance: input.tolerance ?? 1e-9,
    forMillis: durationMillis(input.for ?? '0s', 'for', fail, 0),
    clearThreshold,
    keepFiringForMillis: durationMillis(input.keep_firing_for ?? '0s', 'keep_firing_for', fail, 0),
    severity: input.severity ?? 'warning',
    labels: Object.freeze({ ...input.labels }),
    annotations: Object.freeze({ ...input.annotations }),
    enabled: input.enabled ?? true,
  });
}

const MATCHER = /^\s*([^=!~\s]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

function toSelector(
  input: SelectorInput,
  field: string,
  fail: (field: string, message: string) => RuleError,
): MetricSelector {
  if (/[*?[]/.test(input.metric)) {
    throw fail(`${field}.metric`, `must be one metric name, not a glob, got ${JSON.stringify(input.metric)}`);
  }
  const where: Record<string, string> = { ...input.where };
  if (input.service !== undefined) {
    if (where['service.name'] !== undefined && where['service.name'] !== input.service) {
      throw fail(`${field}.service`, 'contradicts where["service.name"]');
    }
    where['service.name'] = input.service;
  }
  const matchers = (input.matchers ?? []).map((text, i): LabelMatcher => {
    const match = MATCHER.exec(text);
    if (!match) {
      throw fail(
        `${field}.matchers[${i}]`,
        `${JSON.stringify(text)} is not KEY=VALUE, KEY!=VALUE, KEY=~REGEX or KEY!~REGEX`,
      );
    }
    const [, key, op, raw] = match as unknown as [string, string, LabelMatcher['op'], string];
    // Quotes are optional, as in PromQL they are required: accept both spellings.
    const value = /^".*"$/.test(raw) ? raw.slice(1, -1) : raw;
    if (op === '=~' || op === '!~') {
      try {
        new RegExp(`^(?:${value})$`);
      } catch (error) {
        throw fail(`${field}.matchers[${i}]`, `invalid regular expression: ${(error as Error).message}`);
      }
    }
    return { key, op, value };
  });
  return Object.freeze({
    metric: input.metric,
    where: Object.freeze(where),
    matchers: Object.freeze(matchers),
  });
}

const UNIT_MILLIS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

function durationMillis(
  text: string,
  field: string,
  fail: (field: string, message: string) => RuleError,
  minMillis: number,
): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text);
  const millis = match ? Math.round(Number(match[1]) * UNIT_MILLIS[match[2]!]!) : Number.NaN;
  if (!(millis >= minMillis)) {
    throw fail(
      field,
      `must be a duration such as 30s, 5m, 1h${minMillis > 0 ? ' (not zero)' : ''}, got ${JSON.stringify(text)}`,
    );
  }
  return millis;
}

/** The most specific schema error, as a RuleError naming the rule (by name, else position) and field. */
function schemaError(document: unknown, errors: readonly ErrorObject[], source: string): RuleError {
  // The deepest error is the most specific; at equal depth a misspelt field explains a "missing" one.
  const depth = (e: ErrorObject) => e.instancePath.split('/').length;
  const rank = (e: ErrorObject) => depth(e) * 2 + (e.keyword === 'additionalProperties' ? 1 : 0);
  const error =
    [...errors].filter((e) => e.keyword !== 'anyOf').sort((a, b) => rank(b) - rank(a))[0] ?? errors[0];
  if (error === undefined) return new RuleError(undefined, 'file', 'invalid', source);
  const segments = error.instancePath.split('/').slice(1).map(decodePointer);
  let rule: string | undefined;
  let path = segments;
  if (segments[0] === 'rules' && segments[1] !== undefined) {
    const index = Number(segments[1]);
    const name = (document as { rules: { name?: unknown }[] }).rules[index]?.name;
    rule = typeof name === 'string' && name !== '' ? name : `#${index + 1}`;
    path = segments.slice(2);
  }
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'additionalProperties') {
    path = [...path, String(params.additionalProperty)];
    message = 'unknown field';
  } else if (error.keyword === 'required') {
    path = [...path, String(params.missingProperty)];
    message = 'is required';
  } else if (error.keyword === 'enum') {
    message = `must be one of ${(params.allowedValues as unknown[]).join(', ')}`;
  } else if (error.keyword === 'pattern' && path.at(-1) === 'name') {
    message =
      'must start with a letter or _ and hold only letters, digits and _ (it becomes the alertname label)';
  } else if (error.keyword === 'pattern') {
    message = 'must be a duration such as 30s, 5m, 1h';
  }
  const field = path.reduce(
    (acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg),
    '',
  );
  return new RuleError(rule, field || (rule === undefined ? 'file' : 'rule'), message, source);
}

function decodePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
