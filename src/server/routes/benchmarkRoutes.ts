import type { FastifyInstance } from 'fastify';
import { compareBenchmark } from '../../analysis/compareBenchmark.js';
import { createBenchmark } from '../../analysis/createBenchmark.js';
import { deleteBenchmark } from '../../analysis/deleteBenchmark.js';
import { configuredRegressionRules } from '../../analysis/loadRegressionRules.js';
import { type Benchmark, listBenchmarks, requireBenchmark } from '../../store/benchmarkRecords.js';
import { SERVICE_NAME } from '../requestParameters.js';
import { ok, type ServerContext } from '../ServerContext.js';

interface CreateBody {
  name: string;
  duration_minutes: number;
  services?: string[];
  metrics?: string[];
  version?: string;
  replace: boolean;
}

interface CompareBody {
  window_minutes?: number;
  with?: string;
  version?: string;
  stable_band_percent: number;
  alpha: number;
}

const NAME = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' } as const;
const NAME_PARAMS = { type: 'object', required: ['name'], properties: { name: NAME } } as const;
const VERSION = { type: 'string', minLength: 1, maxLength: 256, description: 'service.version' } as const;

/**
 * `POST benchmarks {name, duration_minutes=60, services}` (the original's, persisted now),
 * `GET benchmarks`, `GET benchmarks/{name}`, `DELETE benchmarks/{name}` and
 * `POST benchmarks/{name}/compare`, which compares the benchmark it names (the original ignored it).
 * Unknown benchmarks are 404, a taken name 409, a window without data 422.
 */
export function benchmarkRoutes(app: FastifyInstance, context: ServerContext): void {
  const { perfwatch } = context;
  app.post<{ Body: CreateBody }>(
    '/benchmarks',
    {
      schema: {
        summary: 'Capture the last duration_minutes of the history as a named benchmark (201)',
        tags: ['benchmarks'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: NAME,
            duration_minutes: { type: 'integer', minimum: 1, maximum: 10_080, default: 60 },
            services: { type: 'array', items: SERVICE_NAME, maxItems: 100 },
            metrics: {
              type: 'array',
              items: { type: 'string', minLength: 1, maxLength: 256 },
              maxItems: 100,
              description: 'metric globs (default: every metric except perfwatch.*)',
            },
            version: VERSION,
            replace: { type: 'boolean', default: false },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const created = await createBenchmark(perfwatch.store, {
        name: body.name,
        durationMillis: body.duration_minutes * 60_000,
        replace: body.replace,
        now: context.now,
        ...(body.services === undefined ? {} : { services: body.services }),
        ...(body.metrics === undefined ? {} : { metrics: body.metrics }),
        ...(body.version === undefined ? {} : { version: body.version }),
      });
      return reply.code(201).send(ok({ benchmark: withoutValues(created) }));
    },
  );

  app.get(
    '/benchmarks',
    { schema: { summary: 'Every benchmark, newest first (without series)', tags: ['benchmarks'] } },
    async () => ok({ benchmarks: await listBenchmarks(perfwatch.store) }),
  );

  app.get<{ Params: { name: string } }>(
    '/benchmarks/:name',
    {
      schema: {
        summary: "One benchmark with its series' statistics (404 when unknown)",
        tags: ['benchmarks'],
        params: NAME_PARAMS,
      },
    },
    async (request) =>
      ok({ benchmark: withoutValues(await requireBenchmark(perfwatch.store, request.params.name)) }),
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
          'Compare the named benchmark with the last window_minutes (default: its own duration), another benchmark or a service.version',
        tags: ['benchmarks'],
        params: NAME_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            window_minutes: { type: 'integer', minimum: 1, maximum: 10_080 },
            with: NAME,
            version: VERSION,
            stable_band_percent: { type: 'number', minimum: 0, maximum: 999, default: 5 },
            alpha: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.01 },
          },
        },
      },
    },
    async (request) => {
      const body = request.body ?? { stable_band_percent: 5, alpha: 0.01 };
      const comparison = await compareBenchmark(perfwatch.store, request.params.name, {
        now: context.now,
        stableBand: body.stable_band_percent / 100,
        alpha: body.alpha,
        // The same direction rules as the regression processor: the rules file, then the option's.
        rules: await configuredRegressionRules(perfwatch.config),
        ...(body.window_minutes === undefined ? {} : { windowMillis: body.window_minutes * 60_000 }),
        ...(body.with === undefined ? {} : { with: body.with }),
        ...(body.version === undefined ? {} : { version: body.version }),
      });
      return ok({ comparison });
    },
  );
}

/** Series without their bucket values: a benchmark of a day holds 1,440 per series. */
function withoutValues(benchmark: Benchmark) {
  return { ...benchmark, series: benchmark.series.map(({ values: _values, ...rest }) => rest) };
}
