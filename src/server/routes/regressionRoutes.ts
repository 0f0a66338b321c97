import type { FastifyInstance } from 'fastify';
import { queryTimeSeries } from '../../store/queryTimeSeries.js';
import {
  type ChangeKind,
  listDeployVerdicts,
  listRegressions,
  type RegressionRecord,
  SEVERITIES,
  type Severity,
} from '../../store/regressionRecords.js';
import { notFound } from '../HttpError.js';
import { HOURS, SERVICE_NAME } from '../requestParameters.js';
import { ok, type ServerContext } from '../ServerContext.js';

interface RegressionsQuery {
  hours: number;
  status: 'open' | 'resolved' | 'all';
  service_name?: string;
  severity?: Severity;
  kind?: ChangeKind;
}

/** Aggregation that reproduces each analysed statistic (error rates are derived, not queried). */
const STATISTIC_AGGREGATION: Record<string, 'avg' | 'rate' | 'p50' | 'p95' | 'p99'> = {
  value: 'avg',
  rate: 'rate',
  p50: 'p50',
  p95: 'p95',
  p99: 'p99',
};

/** `GET regressions?hours`, `GET regressions/{id}` and `GET deploys`. */
export function regressionRoutes(app: FastifyInstance, context: ServerContext): void {
  const { perfwatch } = context;
  app.get<{ Querystring: RegressionsQuery }>(
    '/regressions',
    {
      schema: {
        summary:
          'Regressions, improvements and changes seen in the window, most severe and most recent first',
        tags: ['regressions'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            hours: HOURS(24),
            status: { type: 'string', enum: ['open', 'resolved', 'all'], default: 'all' },
            service_name: SERVICE_NAME,
            severity: { type: 'string', enum: [...SEVERITIES], description: 'this severity and above' },
            kind: { type: 'string', enum: ['regression', 'improvement', 'change'] },
          },
        },
      },
    },
    async (request) => {
      const query = request.query;
      const records = await listRegressions(perfwatch.store, {
        since: new Date(context.now() - query.hours * 3_600_000),
        ...(query.status === 'all' ? {} : { status: query.status }),
        ...(query.service_name === undefined ? {} : { service: query.service_name }),
        ...(query.severity === undefined ? {} : { minSeverity: query.severity }),
        ...(query.kind === undefined ? {} : { kind: query.kind }),
      });
      return ok({ hours: query.hours, count: records.length, regressions: records.map(json) });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/regressions/:id',
    {
      schema: {
        summary: 'One regression record, with the series around its change point (404 when unknown)',
        tags: ['regressions'],
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', pattern: '^[0-9a-f]{1,64}$' } },
        },
      },
    },
    async (request) => {
      const [record] = await listRegressions(perfwatch.store, { id: request.params.id });
      if (record === undefined) throw notFound(`regression ${request.params.id}`, { field: 'id' });
      return ok({ ...json(record), context: await around(record) });
    },
  );

  app.get<{ Querystring: { hours: number; service_name?: string } }>(
    '/deploys',
    {
      schema: {
        summary: 'Deploy verdicts: each new service.version against the previous one',
        tags: ['regressions'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { hours: HOURS(168), service_name: SERVICE_NAME },
        },
      },
    },
    async (request) =>
      ok({
        deployVerdicts: await listDeployVerdicts(perfwatch.store, {
          since: new Date(context.now() - request.query.hours * 3_600_000),
          ...(request.query.service_name === undefined ? {} : { service: request.query.service_name }),
        }),
      }),
  );

  /** The analysed series from the baseline's start to the current window's end, for a chart. */
  async function around(record: RegressionRecord) {
    const aggregation = STATISTIC_AGGREGATION[record.statistic];
    if (aggregation === undefined) return null;
    const from = record.baseline.from;
    const to = new Date(record.current.to.getTime() + 60_000);
    const spanSeconds = (to.getTime() - from.getTime()) / 1000;
    const stepSeconds = Math.max(60, Math.ceil(spanSeconds / 300 / 60) * 60);
    const where: Record<string, string> = {};
    for (const [key, value] of Object.entries(record.labels)) if (value !== null) where[key] = value;
    if (record.service !== null) where['service.name'] = record.service;
    const result = await queryTimeSeries(perfwatch.store, {
      metric: record.metric,
      from: new Date(Math.floor(from.getTime() / (stepSeconds * 1000)) * stepSeconds * 1000),
      to,
      stepSeconds,
      aggregation,
      where,
      ifMissing: 'empty',
    }).catch(() => undefined);
    const series = result?.series[0];
    if (series === undefined) return null;
    return {
      aggregation,
      stepSeconds,
      baseline: { from: record.baseline.from, to: record.baseline.to },
      current: { from: record.current.from, to: record.current.to },
      points: series.points,
    };
  }
}

/** NaN (a relative change over a zero baseline) is no JSON number: null. */
function json(record: RegressionRecord) {
  const finite = (value: number) => (Number.isFinite(value) ? value : null);
  return {
    ...record,
    baseline: {
      ...record.baseline,
      mean: finite(record.baseline.mean),
      stddev: finite(record.baseline.stddev),
    },
    current: { ...record.current, mean: finite(record.current.mean), stddev: finite(record.current.stddev) },
    relativeChange: finite(record.relativeChange),
    absoluteChange: finite(record.absoluteChange),
    effectLow: finite(record.effectLow),
    effectHigh: finite(record.effectHigh),
    pValue: finite(record.pValue),
  };
}
