import type { Attributes } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { listAnalysedMetrics } from '../../store/listAnalysedMetrics.js';
import {
  AGGREGATIONS,
  type Aggregation,
  type LabelMatcher,
  queryTimeSeries,
} from '../../store/queryTimeSeries.js';
import { jsonReply } from '../jsonReply.js';
import type { RecordedType } from '../MetricRecorder.js';
import {
  alignWindow,
  autoStepSeconds,
  DURATION,
  durationSeconds,
  HOURS,
  invalidParameter,
  SERVICE_NAME,
  TIME,
  timeWindow,
} from '../requestParameters.js';
import { ok, type ServerContext } from '../ServerContext.js';

interface MetricsQuery {
  metric_name?: string;
  service_name?: string;
  hours?: number;
  from?: string;
  to?: string;
  step?: string;
  aggregation: Aggregation;
  where: string[];
  match: string[];
  group_by: string[];
  limit: number;
  offset: number;
}

interface RecordBody {
  name: string;
  value: number;
  type: RecordedType;
  unit?: string;
  description?: string;
  attributes?: Attributes;
}

const MATCHER = /^([^=!~]+)(=~|!~|!=|=)(.*)$/s;
/** A bucket wider than a year is a typo, and would overflow the time arithmetic. */
const MAX_STEP_SECONDS = 366 * 86_400;

/**
 * A 400 for a regular expression neither JavaScript nor RE2 (DuckDB's) would take, instead of a
 * failure inside the query. The two dialects differ at the edges; the common syntax errors
 * (unbalanced parentheses or brackets, a dangling quantifier) are caught by either.
 */
function checkRegex(field: string, pattern: string): void {
  try {
    new RegExp(pattern);
  } catch (error) {
    throw invalidParameter(
      field,
      'pattern',
      `is not a valid regular expression: ${(error as Error).message}`,
    );
  }
}

/** `GET metrics` (time series from the history, or the metric list) and `POST metrics`. */
export function metricsRoutes(app: FastifyInstance, context: ServerContext): void {
  const { perfwatch } = context;
  app.get<{ Querystring: MetricsQuery }>(
    '/metrics',
    {
      schema: {
        summary: 'Time-bucketed series of a metric, or the metrics in the history',
        description:
          'Without metric_name: the metrics with data in the window (at most `limit`). With it: its series ' +
          'bucketed by `step` and aggregated by `aggregation`, as `perfwatch query` computes them; ' +
          '`limit`/`offset` page through the series (groups), `totalGroups` says how many there are.',
        tags: ['metrics'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            metric_name: {
              type: 'string',
              minLength: 1,
              maxLength: 256,
              description: 'name or glob (*, ?, […])',
            },
            service_name: SERVICE_NAME,
            hours: HOURS(),
            from: TIME,
            to: TIME,
            step: DURATION,
            aggregation: { type: 'string', enum: [...AGGREGATIONS], default: 'avg' },
            where: {
              type: 'array',
              maxItems: 20,
              items: { type: 'string', pattern: '^[^=]+=', maxLength: 512 },
              default: [],
              description: 'KEY=VALUE exact matches on point, else resource attributes; repeatable',
            },
            match: {
              type: 'array',
              maxItems: 20,
              items: { type: 'string', pattern: '^[^=!~]+(=~|!~|!=|=)', maxLength: 512 },
              default: [],
              description: 'Prometheus-style matchers KEY=V, KEY!=V, KEY=~RE, KEY!~RE; repeatable',
            },
            group_by: {
              type: 'array',
              maxItems: 10,
              items: { type: 'string', minLength: 1, maxLength: 256 },
              default: [],
              description: 'one series per value of this attribute; repeatable',
            },
            limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 1000 },
            offset: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 },
          },
        },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const now = context.now();
      const window = timeWindow(query, now, 1);
      if (query.metric_name === undefined) {
        const metrics = await listAnalysedMetrics(perfwatch.store, window.from);
        return ok({
          from: window.from,
          to: window.to,
          totalMetrics: metrics.length,
          metrics: metrics.slice(query.offset, query.offset + query.limit),
        });
      }
      const stepSeconds =
        query.step === undefined
          ? autoStepSeconds(window.from, window.to, perfwatch.config.collectionIntervalMillis)
          : durationSeconds(query.step);
      if (!(stepSeconds >= 0.001 && stepSeconds <= MAX_STEP_SECONDS)) {
        throw invalidParameter('step', 'range', 'must be between 1ms and 366d');
      }
      const { from, to } =
        query.from === undefined ? alignWindow(window.from, window.to, stepSeconds) : window;
      const where = Object.fromEntries(
        query.where.map((text) => [text.slice(0, text.indexOf('=')), text.slice(text.indexOf('=') + 1)]),
      );
      if (query.service_name !== undefined) where['service.name'] = query.service_name;
      const matchers: LabelMatcher[] = query.match.map((text, i) => {
        const [, key, op, value] = MATCHER.exec(text) as RegExpExecArray;
        if (op === '=~' || op === '!~') checkRegex(`match.${i}`, value as string);
        return { key: key as string, op: op as LabelMatcher['op'], value: value as string };
      });
      const timeSeriesQuery = {
        metric: query.metric_name,
        from,
        to,
        stepSeconds,
        aggregation: query.aggregation,
        where,
        matchers,
        groupBy: query.group_by,
        groupPage: { offset: query.offset, limit: query.limit },
      };
      // The window is whole steps, so requests within one step (and no write between) share an answer.
      const answer = await context.answers.get(JSON.stringify(timeSeriesQuery), async () => {
        const result = await queryTimeSeries(perfwatch.store, timeSeriesQuery);
        return jsonReply(
          ok({
            ...result,
            // Points only: `times`/`values` are the same numbers again, for in-process bulk readers.
            series: result.series.map((series) => ({
              metric: series.metric,
              labels: series.labels,
              points: series.points,
            })),
            truncated: result.totalGroups > query.offset + result.series.length,
          }),
        );
      });
      return reply.type('application/json; charset=utf-8').send(answer);
    },
  );

  app.post<{ Body: RecordBody }>(
    '/metrics',
    {
      schema: {
        summary: 'Record a custom metric value through an OpenTelemetry instrument',
        description:
          'Recorded on the PerfWatch meter (one instrument per name, reused), so the value is written to ' +
          'the history with the next collection and leaves through Prometheus and OTLP too. Unknown fields are rejected.',
        tags: ['metrics'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'value'],
          properties: {
            name: {
              type: 'string',
              pattern: '^[A-Za-z][A-Za-z0-9_./-]{0,254}$',
              description: 'OpenTelemetry instrument name',
            },
            value: { type: 'number' },
            type: { type: 'string', enum: ['gauge', 'counter', 'histogram'], default: 'gauge' },
            unit: { type: 'string', maxLength: 63, description: 'UCUM unit such as s, By, {request}' },
            description: { type: 'string', maxLength: 1023 },
            attributes: {
              type: 'object',
              maxProperties: 32,
              propertyNames: { minLength: 1, maxLength: 256 },
              additionalProperties: { type: ['string', 'number', 'boolean'] },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      context.recorder.record(body);
      return reply.code(202).send(
        ok({
          recorded: {
            name: body.name,
            type: body.type,
            value: body.value,
            attributes: body.attributes ?? {},
          },
          note: 'written to the history with the next collection',
        }),
      );
    },
  );
}
