import { createHash, timingSafeEqual } from 'node:crypto';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type Logger, silentLogger } from '../logging/Logger.js';
import type { PerfWatch } from '../startPerfWatch.js';
import { PERFWATCH_VERSION } from '../version.js';
import { AnswerCache } from './AnswerCache.js';
import type { ApiServerConfig } from './ApiServerOptions.js';
import { EventStream } from './EventStream.js';
import { body, frameworkErrorReply, installErrorEnvelope } from './errorEnvelope.js';
import { jsonReply } from './jsonReply.js';
import { LiveSql } from './LiveSql.js';
import { MetricRecorder } from './MetricRecorder.js';
import { installFiniteNumberCheck, installJsonBodyParser, installRequestGuards } from './requestGuards.js';
import { adminRoutes } from './routes/adminRoutes.js';
import { alertRoutes } from './routes/alertRoutes.js';
import { benchmarkRoutes } from './routes/benchmarkRoutes.js';
import { eventsRoute } from './routes/eventsRoute.js';
import { metricsRoutes } from './routes/metricsRoutes.js';
import { overviewRoutes } from './routes/overviewRoutes.js';
import { pageRoutes } from './routes/pageRoutes.js';
import { regressionRoutes } from './routes/regressionRoutes.js';
import type { ServerContext } from './ServerContext.js';

export const API_PREFIX = '/api/performance';

/** Deeper JSON bodies are refused: no route's body nests beyond a handful of levels. */
const MAX_JSON_DEPTH = 64;

/** An API server not yet listening: `app.inject()` serves requests in-process; `close()` releases it. */
export interface ApiServer {
  readonly app: FastifyInstance;
  readonly events: EventStream;
  close(): Promise<void>;
}

/**
 * Builds the HTTP API (under /api/performance), the OpenAPI document and the dashboard page for a
 * running perfwatch. Every route validates its input by JSON Schema; every answer is an envelope.
 */
export async function createApiServer(
  perfwatch: PerfWatch,
  config: ApiServerConfig,
  options: { logger?: Logger; now?: () => number } = {},
): Promise<ApiServer> {
  const logger = options.logger ?? silentLogger;
  const app = Fastify({
    logger: false,
    bodyLimit: config.bodyLimitBytes,
    // Path parameters are checked by their schemas (a benchmark name up to 128 characters, a
    // service up to 256, percent-encoded up to three times longer), not cut off by fastify's
    // default of 100 with a 414.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: frameworkErrorReply,
    // Unknown body fields must be refused, not silently dropped (fastify's default removes them).
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: 'array',
        useDefaults: true,
        allErrors: false,
        allowUnionTypes: true,
      },
    },
    // A closing server ends SSE streams itself; idle keep-alive sockets must not hold it open.
    forceCloseConnections: true,
  });
  const events = new EventStream(perfwatch, logger);
  const sql = new LiveSql(perfwatch.store, config.sqlSnapshotMaxAgeMillis, options.now);
  const context: ServerContext = {
    perfwatch,
    config,
    logger,
    events,
    sql,
    recorder: new MetricRecorder(perfwatch.meter),
    answers: new AnswerCache(() => perfwatch.store.dataVersion),
    now: options.now ?? Date.now,
  };
  app.setReplySerializer(jsonReply);
  installErrorEnvelope(app, logger);
  installRequestGuards(app, config);
  installJsonBodyParser(app, MAX_JSON_DEPTH);
  installFiniteNumberCheck(app);
  installSecurity(app, config);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'perfwatch HTTP API',
        version: PERFWATCH_VERSION,
        description:
          'Answers are `{"status":"success","data":…}` or `{"status":"error","error":{"code","message","details"}}`. ' +
          'With an API token, mutating routes and POST sql need `Authorization: Bearer TOKEN`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(
    async (api) => {
      metricsRoutes(api, context);
      overviewRoutes(api, context);
      regressionRoutes(api, context);
      benchmarkRoutes(api, context);
      alertRoutes(api, context);
      adminRoutes(api, context);
      eventsRoute(api, context);
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: API_PREFIX },
  );
  pageRoutes(app);
  await app.ready();

  let closing: Promise<void> | undefined;
  return {
    app,
    events,
    close: () => {
      closing ??= (async () => {
        events.close();
        await app.close();
        await sql.close();
      })();
      return closing;
    },
  };
}

/**
 * Bearer token on mutating routes and POST sql (every API route with protectReads), compared in
 * constant time over digests so neither content nor length leaks; CORS only for listed origins.
 */
function installSecurity(app: FastifyInstance, config: ApiServerConfig): void {
  const expected = config.token === undefined ? undefined : digest(config.token);
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin !== undefined && config.corsOrigins.includes(origin)) {
      void reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
      if (request.method === 'OPTIONS') {
        return reply
          .code(204)
          .header('access-control-allow-methods', 'GET, POST, PUT, DELETE')
          .header('access-control-allow-headers', 'authorization, content-type')
          .header('access-control-max-age', '600')
          .send();
      }
    }
    if (expected === undefined || !needsToken(request, config.protectReads)) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (match === null || !timingSafeEqual(digest(match[1] as string), expected)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="perfwatch"')
        .send(body('PERFWATCH_UNAUTHORIZED', 'this route needs Authorization: Bearer <API token>', {}));
    }
  });
}

/** Decided on the matched route, not the raw URL, so no spelling of a path slips past. */
function needsToken(request: FastifyRequest, protectReads: boolean): boolean {
  const route = request.routeOptions.url;
  if (route === undefined || !route.startsWith(`${API_PREFIX}/`)) return false;
  if (request.method !== 'GET' && request.method !== 'HEAD') return true;
  return protectReads && route !== `${API_PREFIX}/openapi.json`;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
