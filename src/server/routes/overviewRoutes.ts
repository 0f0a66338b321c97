import { cpus, hostname, loadavg, totalmem } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { listServiceMetrics, listServices } from '../../store/listServices.js';
import { listDeployVerdicts, listRegressions } from '../../store/regressionRecords.js';
import { PERFWATCH_VERSION } from '../../version.js';
import { buildDashboard, dashboardAlerts } from '../buildDashboard.js';
import { notFound } from '../HttpError.js';
import { jsonReply } from '../jsonReply.js';
import {
  alignWindow,
  autoStepSeconds,
  DURATION,
  durationSeconds,
  invalidParameter,
  SERVICE_NAME,
} from '../requestParameters.js';
import { ok, type ServerContext } from '../ServerContext.js';

interface DashboardQuery {
  range: string;
  service_name?: string;
  series: boolean;
}

/** 15 minutes to 30 days: the page's range picker. */
const MIN_RANGE_SECONDS = 60;
const MAX_RANGE_SECONDS = 30 * 86_400;

/** `GET dashboard`, `GET dashboard/export`, `GET system`, `GET services`, `GET services/{name}`. */
export function overviewRoutes(app: FastifyInstance, context: ServerContext): void {
  const { perfwatch } = context;
  const dashboardQuery = {
    type: 'object',
    additionalProperties: false,
    properties: {
      range: { ...DURATION, default: '1h', description: 'window ending now, 1m to 30d (e.g. 15m, 6h, 7d)' },
      service_name: SERVICE_NAME,
      series: { type: 'boolean', default: false, description: "include each panel's points" },
    },
  } as const;
  const dashboardRequest = (query: DashboardQuery) => {
    const rangeSeconds = durationSeconds(query.range);
    if (rangeSeconds < MIN_RANGE_SECONDS || rangeSeconds > MAX_RANGE_SECONDS) {
      throw invalidParameter('range', 'range', 'must be between 1m and 30d');
    }
    const now = context.now();
    const stepSeconds = autoStepSeconds(
      new Date(now - rangeSeconds * 1000),
      new Date(now),
      perfwatch.config.collectionIntervalMillis,
    );
    const { from, to } = alignWindow(new Date(now - rangeSeconds * 1000), new Date(now), stepSeconds);
    return { from, to, stepSeconds, service: query.service_name, withSeries: query.series };
  };

  app.get<{ Querystring: DashboardQuery }>(
    '/dashboard',
    {
      schema: {
        summary:
          'Per panel metric: current, avg, min, max and trend over the window; firing alerts; open regressions',
        tags: ['dashboard'],
        querystring: dashboardQuery,
      },
    },
    async (request, reply) => {
      const dashboard = dashboardRequest(request.query);
      // Every open page asks for the same dashboard after each collection event: they share one
      // answer while the history and the alert states are as they were.
      const alerts = dashboardAlerts(perfwatch, dashboard.service);
      const answer = await context.answers.get(JSON.stringify(['dashboard', dashboard, alerts]), async () =>
        jsonReply(ok(await buildDashboard(perfwatch, dashboard, alerts))),
      );
      return reply.type('application/json; charset=utf-8').send(answer);
    },
  );

  app.get<{ Querystring: DashboardQuery }>(
    '/dashboard/export',
    {
      schema: {
        summary: 'The dashboard as a JSON document for reports (a download), with the series',
        tags: ['dashboard'],
        querystring: dashboardQuery,
      },
    },
    async (request, reply) => {
      const generatedAt = new Date(context.now());
      const data = await buildDashboard(perfwatch, dashboardRequest({ ...request.query, series: true }));
      const file = `perfwatch-dashboard-${generatedAt.toISOString().replace(/[:.]/g, '-')}.json`;
      void reply.header('content-disposition', `attachment; filename="${file}"`);
      return ok({
        generatedAt,
        version: PERFWATCH_VERSION,
        host: hostname(),
        ...data,
      });
    },
  );

  app.get(
    '/system',
    {
      schema: {
        summary:
          "This host and process now: CPU, memory, load, network, the process's CPU and memory, event-loop delay",
        description:
          'Averages over the last 5 minutes (at least 3 collection intervals) from the history, plus the OS figures.',
        tags: ['dashboard'],
      },
    },
    async () => {
      const now = context.now();
      const windowSeconds = Math.max(300, (3 * perfwatch.config.collectionIntervalMillis) / 1000);
      const data = await buildDashboard(perfwatch, {
        from: new Date(now - windowSeconds * 1000),
        to: new Date(now),
        stepSeconds: windowSeconds,
        service: undefined,
        withSeries: true,
      });
      const metrics: Record<string, { title: string; unit: string; values: Record<string, number | null> }> =
        {};
      for (const panel of data.panels) {
        if (!panel.available || panel.id.startsWith('http')) continue;
        metrics[panel.id] = {
          title: panel.title,
          unit: panel.unit,
          values: Object.fromEntries(
            (panel.series ?? []).map((series) => [series.label, series.values.at(-1) ?? null]),
          ),
        };
      }
      return ok({
        time: new Date(now),
        windowSeconds,
        host: { name: hostname(), cpus: cpus().length, memoryBytes: totalmem(), loadAverage: loadavg() },
        process: { pid: process.pid, node: process.version, uptimeSeconds: process.uptime() },
        metrics,
      });
    },
  );

  app.get(
    '/services',
    {
      schema: {
        summary: 'Services (service.name) in the history, with versions and instances',
        tags: ['services'],
      },
    },
    async () => ok({ services: await listServices(perfwatch.store) }),
  );

  app.get<{ Params: { name: string } }>(
    '/services/:name',
    {
      schema: {
        summary: 'One service: versions, metrics, open regressions and deploy verdicts (404 when unknown)',
        tags: ['services'],
        params: {
          type: 'object',
          required: ['name'],
          properties: { name: SERVICE_NAME },
        },
      },
    },
    async (request) => {
      const name = request.params.name;
      const [service] = await listServices(perfwatch.store, name);
      if (service === undefined) throw notFound(`service ${JSON.stringify(name)}`, { field: 'name' });
      const [metrics, regressions, deployVerdicts] = await Promise.all([
        listServiceMetrics(perfwatch.store, name),
        listRegressions(perfwatch.store, { service: name, status: 'open' }),
        listDeployVerdicts(perfwatch.store, { service: name }),
      ]);
      return ok({ ...service, metrics, openRegressions: regressions, deployVerdicts });
    },
  );
}
