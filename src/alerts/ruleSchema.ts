import { AGGREGATIONS } from '../store/queryTimeSeries.js';

const DURATION = '^\\d+(\\.\\d+)?(ms|s|m|h|d|w)$';
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;

const selector = {
  type: 'object',
  additionalProperties: false,
  required: ['metric'],
  properties: {
    metric: { type: 'string', minLength: 1 },
    where: stringMap,
    service: { type: 'string', minLength: 1 },
    matchers: { type: 'array', items: { type: 'string', minLength: 2 } },
  },
} as const;

/**
 * JSON Schema (draft-07, checked by ajv) of a rules file. Field names follow
 * Prometheus' rule files (`for`, `keep_firing_for`, snake_case), so they read familiar.
 * Semantic checks that a schema cannot express (a clear threshold on the wrong side, an invalid
 * regular expression, duplicate names) are done by parseRules after this.
 */
export const RULES_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['rules'],
  properties: {
    rules: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'comparison', 'threshold'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
          description: { type: 'string' },
          selector,
          ratio: {
            type: 'object',
            additionalProperties: false,
            required: ['numerator', 'denominator'],
            properties: {
              numerator: { anyOf: [selector, { type: 'array', minItems: 1, items: selector }] },
              denominator: selector,
            },
          },
          aggregation: { enum: AGGREGATIONS },
          window: { type: 'string', pattern: DURATION },
          group_by: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
          comparison: { enum: ['>', '<', '>=', '<=', '==', '!='] },
          threshold: { type: 'number' },
          tolerance: { type: 'number', minimum: 0 },
          for: { type: 'string', pattern: DURATION },
          clear_threshold: { type: 'number' },
          keep_firing_for: { type: 'string', pattern: DURATION },
          severity: { enum: ['info', 'warning', 'critical'] },
          labels: stringMap,
          annotations: {
            type: 'object',
            additionalProperties: false,
            properties: {
              summary: { type: 'string' },
              description: { type: 'string' },
              runbook_url: { type: 'string' },
            },
          },
          enabled: { type: 'boolean' },
        },
      },
    },
  },
} as const;
