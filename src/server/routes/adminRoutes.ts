import { stat } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { MetricStore } from '../../store/MetricStore.js';
import { PERFWATCH_VERSION } from '../../version.js';
import { HttpError } from '../HttpError.js';
import { ok, type ServerContext } from '../ServerContext.js';

interface SqlBody {
  sql: string;
  timeout_seconds: number;
  max_rows: number;
}

/** `GET health`, `GET prometheus`, `POST cleanup`, `POST sql`. */
export function adminRoutes(app: FastifyInstance, context: ServerContext): void {
  const { perfwatch } = context;

  app.get(
    '/health',
    {
      schema: {
        summary:
          'Monitoring state: interval, last collection, points written, write errors, database, version',
        description:
          '`status` is ok, starting (no collection, and no received write, yet), or degraded (collections waiting after write errors, none for 3 ' +
          'intervals, or — under `perfwatch serve` — the last write of received points failed). `pointsWritten` and ' +
          "`writeErrors` count both sources; `receiver` (null without one) has the OTLP receiver's own counts. " +
          "`memory` is this process' now: RSS and JS heap (bytes), DuckDB's buffer manager by tag, its `memory_limit` and the WAL's size.",
        tags: ['service'],
      },
    },
    async () => {
      const status = perfwatch.status();
      const received = perfwatch.receiver?.status();
      const now = context.now();
      const interval = perfwatch.config.collectionIntervalMillis;
      const last = status.lastCollectionAt;
      const stale = last !== undefined && now - last.getTime() > 3 * interval;
      const receiving =
        received?.lastErrorAt !== undefined &&
        (received.lastWriteAt === undefined || received.lastErrorAt > received.lastWriteAt);
      return ok({
        status:
          status.pendingCollections > 0 || stale || receiving
            ? 'degraded'
            : last === undefined && received?.lastWriteAt === undefined
              ? 'starting'
              : 'ok',
        monitoringActive: true,
        version: PERFWATCH_VERSION,
        collectionIntervalSeconds: interval / 1000,
        lastCollection: last ?? null,
        collectionsWritten: status.collectionsWritten,
        pointsWritten: status.pointsWritten + (received?.pointsWritten ?? 0),
        writeErrors: status.writeErrors + (received?.writeErrors ?? 0),
        droppedCollections: status.droppedCollections,
        pendingCollections: status.pendingCollections,
        database: { path: perfwatch.store.path, sizeBytes: await perfwatch.store.sizeBytes() },
        retentionDays: perfwatch.config.retentionDays,
        prometheusUrl: perfwatch.prometheusUrl ?? null,
        alertRules: perfwatch.alertRules.length,
        receiver:
          perfwatch.receiver === undefined || received === undefined
            ? null
            : {
                url: perfwatch.receiver.url,
                pointsWritten: received.pointsWritten,
                batchesWritten: received.batchesWritten,
                pendingPoints: received.pendingPoints,
                writeErrors: received.writeErrors,
                lastWrite: received.lastWriteAt ?? null,
                lastWriteError: received.lastErrorAt ?? null,
              },
        memory: await memoryNow(perfwatch.store),
        uptimeSeconds: process.uptime(),
      });
    },
  );

  app.get(
    '/prometheus',
    {
      schema: {
        summary:
          "The Prometheus exporter's own text exposition (what /metrics on the scrape endpoint serves)",
        tags: ['service'],
        produces: ['text/plain'],
      },
    },
    async (request, reply) => {
      const exporter = perfwatch.prometheusExporter;
      if (exporter === undefined) {
        throw new HttpError(
          404,
          'PERFWATCH_PROMETHEUS_DISABLED',
          perfwatch.receiver === undefined
            ? 'the Prometheus exporter is disabled (prometheusEnabled: false)'
            : 'perfwatch serve has no Prometheus exporter: it stores received metrics but does not re-export them; ' +
                'scrape the services, or give the Collector a prometheus or prometheusremotewrite exporter (collector-config/)',
        );
      }
      // The exporter writes the response itself: its text, not a re-serialisation of ours.
      reply.hijack();
      exporter.getMetricsRequestHandler(request.raw, reply.raw);
    },
  );

  app.post<{ Querystring: { retention_days?: number } }>(
    '/cleanup',
    {
      schema: {
        summary: 'Delete points older than retention_days now (as the hourly schedule does)',
        tags: ['service'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            retention_days: {
              type: 'integer',
              minimum: 1,
              maximum: 365,
              description: 'default: the configured retention (30)',
            },
          },
        },
      },
    },
    async (request) => {
      const days = request.query.retention_days ?? perfwatch.config.retentionDays;
      const summary = await perfwatch.cleanup(days);
      return ok({ retentionDays: days, ...summary });
    },
  );

  app.post<{ Body: SqlBody }>(
    '/sql',
    {
      schema: {
        summary: 'One read-only SELECT over the history, sandboxed (no file, network or extension access)',
        description:
          'Runs on a snapshot of the live file at most `sqlSnapshotMaxAgeMillis` old (`snapshotAt` says when it ' +
          'was taken). Anything but one SELECT is refused with 403; a failing query is a 400.',
        tags: ['service'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['sql'],
          properties: {
            sql: { type: 'string', minLength: 1, maxLength: 100_000 },
            timeout_seconds: { type: 'number', exclusiveMinimum: 0, maximum: 300, default: 10 },
            max_rows: { type: 'integer', minimum: 1, maximum: 100_000, default: 10_000 },
          },
        },
      },
    },
    async (request) => {
      const result = await context.sql.run(request.body.sql, {
        timeoutMillis: Math.round(request.body.timeout_seconds * 1000),
        rowLimit: request.body.max_rows,
      });
      return ok(result);
    },
  );
}

/**
 * Where this process' memory is: V8's figures, and the live DuckDB instance's buffer manager
 * (`duckdb_memory()`, by tag, non-zero tags only) with its limit; plus the WAL's size on disk.
 */
async function memoryNow(store: MetricStore): Promise<Record<string, unknown>> {
  const usage = process.memoryUsage();
  const [tags, [limit], walBytes] = await Promise.all([
    store.query(
      'SELECT tag, memory_usage_bytes AS bytes FROM duckdb_memory() WHERE memory_usage_bytes > 0 ORDER BY tag',
    ),
    store.query("SELECT current_setting('memory_limit') AS value"),
    stat(`${store.path}.wal`).then(
      (s) => s.size,
      () => 0,
    ),
  ]);
  const duckdbByTag = Object.fromEntries(tags.map((row) => [String(row.tag), Number(row.bytes)]));
  return {
    rssBytes: usage.rss,
    heapUsedBytes: usage.heapUsed,
    heapTotalBytes: usage.heapTotal,
    externalBytes: usage.external,
    duckdbBytes: Object.values(duckdbByTag).reduce((a, b) => a + b, 0),
    duckdbByTag,
    duckdbMemoryLimit: String(limit?.value ?? ''),
    walBytes,
  };
}
