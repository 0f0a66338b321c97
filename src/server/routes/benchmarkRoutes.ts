import type { FastifyInstance } from 'fastify';
import { compareBenchmark } from '../../analysis/compareBenchmark.js';
import { createBenchmark } from '../../analysis/createBenchmark.js';
import { deleteBenchmark } from '../../analysis/deleteBenchmark.js';
import { type Benchmark, listBenchmarks, requireBenchmark } from '../../store/benchmarkRecords.js';
import { parseTimeParameter, SERVICE_NAME, TIME } from '../requestParameters.js';
import { ok, type ServerContext } from '../ServerContext.js';

interface CreateBody {
  name: string;
  duration_minutes: number;
  from?: string;
  to?: string;
  services?: string[];
  metrics?: string[];
  version?: string;
  replace: boolean;
}

interface CompareBody {
  window_minutes?: number;
  from?: string;
  to?: string;
  with?: string;
  version?: string;
  stable_band?: number;
}

const NAME_PARAMS = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;
const VERSION = { type: 'string', minLength: 1, maxLength: 256, description: 'service.version' } as const;

/**
 * `POST benchmarks`, `GET benchmarks`, `GET benchmarks/{name}`, `DELETE benchmarks/{name}` and
 * `POST benchmarks/{name}/compare` — the library's createBenchmark / compareBenchmark, with the
 * regression rules' directions. Unknown names are 404, a taken name 409 (unless `replace`).
 */
export function benchmarkRoutes(app: FastifyInstance, context: ServerContext): void {
  const { perfwatch } = context;
  app.post<{ Body: CreateBody }>(
    '/benchmarks',
    {
      schema: {
        summary: 'Capture a window of the history as a named benchmark',
        tags: ['benchmarks'],
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 128 },
            duration_minutes: { type: 'integer', minimum: 1, maximum: 10_080, default: 60 },
            from: TIME,
            to: TIME,
            services: { type: 'array', items: SERVICE_NAME, maxItems: 100 },
            metrics: {
              type: 'array',
              items: { type: 'string', minLength: 1, maxLength: 256 },
              maxItems: 100,
            },
            version: VERSION,
            replace: { type: 'boolean', default: false },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const benchmark = await createBenchmark(perfwatch.store, {
        name: body.name,
        durationMillis: body.duration_minutes * 60_000,
        ...(body.from === undefined ? {} : { from: parseTimeParameter('from', body.from) }),
        ...(body.to === undefined ? {} : { to: parseTimeParameter('to', body.to) }),
        ...(body.services === undefined ? {} : { services: body.services }),
        ...(body.metrics === undefined ? {} : { metrics: body.metrics }),
        ...(body.version === undefined ? {} : { version: body.version }),
        replace: body.replace,
        now: context.now,
      });
      return reply.code(201).send(ok(summaryOf(benchmark)));
    },
  );

  app.get(
    '/benchmarks',
    { schema: { summary: 'Every benchmark, without its series', tags: ['benchmarks'] } },
    async () => ok({ benchmarks: await listBenchmarks(perfwatch.store) }),
  );

  app.get<{ Params: { name: string } }>(
    '/benchmarks/:name',
    {
      schema: {
        summary: 'One benchmark with the statistics of each series (404 when unknown)',
        tags: ['benchmarks'],
        params: NAME_PARAMS,
      },
    },
    async (request) => ok(summaryOf(await requireBenchmark(perfwatch.store, request.params.name), true)),
  );

  app.delete<{ Params: { name: string } }>(
    '/benchmarks/:name',
    {
      schema: { summary: 'Delete a benchmark (404 when unknown)', tags: ['benchmarks'], params: NAME_PARAMS },
    },
    async (request) => {
      await deleteBenchmark(perfwatch.store, request.params.name);
      return ok({ deleted: request.params.name });
    },
  );

  app.post<{ Params: { name: string }; Body: CompareBody }>(
    '/benchmarks/:name/compare',
    {
      schema: {
        summary:
          'Compare the benchmark named in the path with a current window, another benchmark or a service.version',
        tags: ['benchmarks'],
        params: NAME_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            window_minutes: { type: 'integer', minimum: 1, maximum: 10_080 },
            from: TIME,
            to: TIME,
            with: { type: 'string', minLength: 1, maxLength: 128 },
            version: VERSION,
            stable_band: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
          },
        },
      },
    },
    async (request) => {
      const body = request.body ?? {};
      const comparison = await compareBenchmark(perfwatch.store, request.params.name, {
        ...(body.window_minutes === undefined ? {} : { windowMillis: body.window_minutes * 60_000 }),
        ...(body.from === undefined ? {} : { from: parseTimeParameter('from', body.from) }),
        ...(body.to === undefined ? {} : { to: parseTimeParameter('to', body.to) }),
        ...(body.with === undefined ? {} : { with: body.with }),
        ...(body.version === undefined ? {} : { version: body.version }),
        ...(body.stable_band === undefined ? {} : { stableBand: body.stable_band }),
        rules: perfwatch.regressionRules,
        now: context.now,
      });
      return ok(comparison);
    },
  );
}

/** A benchmark as answered: its description, and with `withSeries` each series' statistics (not its values). */
function summaryOf(benchmark: Benchmark, withSeries = false) {
  const { series, ...info } = benchmark;
  if (!withSeries) return info;
  return { ...info, series: series.map(({ values: _values, ...rest }) => rest) };
}
