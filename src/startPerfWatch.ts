import type { Meter } from '@opentelemetry/api';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { HostMetrics } from '@opentelemetry/host-metrics';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import type { AlertProcessor } from './alerts/AlertProcessor.js';
import type { AlertRule } from './alerts/AlertRule.js';
import { loadConfiguredRules, rulesReplacedBy, startAlerting } from './alerts/startAlerting.js';
import { configuredRegressionRules } from './analysis/loadRegressionRules.js';
import type { RegressionRule } from './analysis/metricPolicy.js';
import { RegressionProcessor } from './analysis/RegressionProcessor.js';
import { scheduleRegressionCycles } from './analysis/scheduleRegressionCycles.js';
import type { PerfWatchConfig, PerfWatchOptions } from './config/PerfWatchOptions.js';
import { resolveConfig } from './config/resolveConfig.js';
import { ConfigError, ShutdownError } from './errors.js';
import { createLogger } from './logging/createLogger.js';
import type { Logger } from './logging/Logger.js';
import { DuckDbMetricReader, type ReaderStatus } from './reader/DuckDbMetricReader.js';
import { ReceivedWrites, type ReceivedWritesStatus } from './receiver/ReceivedWrites.js';
import { type Scheduler, timerScheduler } from './scheduling/Scheduler.js';
import { MetricStore, type RetentionSummary } from './store/MetricStore.js';
import { startMaintenance } from './store/startMaintenance.js';
import type { SnapshotSummary } from './store/writeSnapshot.js';
import { CollectorRegistry, type CustomCollector } from './telemetry/CollectorRegistry.js';
import { createOtlpReader } from './telemetry/createOtlpReader.js';
import { createResource } from './telemetry/createResource.js';
import { PrometheusEndpoint } from './telemetry/PrometheusEndpoint.js';
import { registerRegressionGauge } from './telemetry/registerRegressionGauge.js';
import { registerSystemMetrics } from './telemetry/registerSystemMetrics.js';
import { defaultViews } from './telemetry/views.js';
import { PERFWATCH_VERSION } from './version.js';

/** A running perfwatch: the MeterProvider, its readers and the history file. */
export interface PerfWatch {
  /** A meter for the application's own instruments. */
  readonly meter: Meter;
  readonly meterProvider: MeterProvider;
  readonly store: MetricStore;
  readonly config: PerfWatchConfig;
  /** URL of the scrape endpoint, or undefined when it is disabled. */
  readonly prometheusUrl: string | undefined;
  /** The alert rules' evaluator (after every collection), or undefined when no rule is configured. */
  readonly alerts: AlertProcessor | undefined;
  /** The regression processor: `runCycle()` checks now; records are read with `listRegressions`. */
  readonly regressions: RegressionProcessor;
  /** The regression rules in force (file, then options): benchmark comparisons use the same directions. */
  readonly regressionRules: readonly RegressionRule[];
  /** The alert rules in force (default rules and the rules file's), enabled or not. */
  readonly alertRules: readonly AlertRule[];
  /**
   * Puts the rules of `document` (a rules file as YAML or JSON text) in place of the rules file's
   * rules, as `PUT rules` does. Validated first: a RuleError names the rule and the field, and
   * nothing changes. Then written to the rules file when one is configured (`persisted`), so a
   * restart or reload keeps them, and evaluated from the next collection. Default rules stay
   * unless the document has a rule of the same name. See AlertProcessor.replaceRules for what
   * happens to the alerts of kept and removed rules.
   */
  replaceAlertRules(document: string): Promise<{ rules: readonly AlertRule[]; persisted: boolean }>;
  /**
   * Reads the rules file (and default rules) again, as `perfwatch start` does on SIGHUP; an invalid
   * file is refused with a RuleError and the running rules stay.
   */
  reloadAlertRules(): Promise<readonly AlertRule[]>;
  /** The Prometheus exporter behind the scrape endpoint, or undefined when it is disabled. */
  readonly prometheusExporter: PrometheusExporter | undefined;
  /** perfwatch's structured log (the `logger` option, else pino on stderr). */
  readonly logger: Logger;
  /** The OTLP/HTTP receiver of the `otlpReceiver` option, or undefined when it is not set. */
  readonly receiver: RunningReceiver | undefined;
  /** The DuckDB reader's counts: last collection, points written, write errors. */
  status(): ReaderStatus;
  /**
   * Calls `listener` after every collection written to DuckDB (and evaluated by the alert rules),
   * and — with a receiver — at most once a second while received points are being written;
   * returns a function that removes it. A throwing listener is logged, never fails the collection.
   */
  onCollection(listener: () => void): () => void;
  /** Adds a pull-style custom collector; returns a function that removes it. */
  registerCollector(name: string, collector: CustomCollector): () => void;
  /**
   * Deletes points older than `retentionDays` (1–365, default the configured retention) now, as
   * the hourly schedule would; resolves with what was removed.
   */
  cleanup(retentionDays?: number): Promise<RetentionSummary>;
  /**
   * Writes a consistent copy of the history to `outPath` (default: the configured snapshot path)
   * and renames it into place, for tools that cannot open the live, locked file.
   */
  snapshot(outPath?: string): Promise<SnapshotSummary>;
  /**
   * Collects now and writes to DuckDB, and pushes OTLP when configured. Rejects only when the
   * DuckDB write fails (the collection is then buffered for retry).
   */
  forceFlush(): Promise<void>;
  /** Writes the last collection, stops every component and closes the file. Idempotent. */
  shutdown(): Promise<void>;
}

/** The OTLP/HTTP receiver of a running perfwatch. */
export interface RunningReceiver {
  /** `http://host:port/v1/metrics`. */
  readonly url: string;
  /** What its writes did so far, and the points accepted but not yet written. */
  status(): ReceivedWritesStatus & { readonly pendingPoints: number };
}

const SHUTDOWN_TIMEOUT_MILLIS = 10_000;
/**
 * Received writes are announced to collection listeners (the event stream) at most this often:
 * under load the receiver commits many batches a second, and each announcement makes every
 * live dashboard reload.
 */
const RECEIVED_NOTICE_MILLIS = 1000;
const DAY_MILLIS = 86_400_000;

/**
 * One-call setup for a service without its own OTel SDK: resource, host, system and runtime
 * metrics, the DuckDB reader, the Prometheus endpoint and (when configured) OTLP export.
 * Rejects with a ConfigError naming the setting when the configuration or environment is invalid.
 */
export async function startPerfWatch(options: PerfWatchOptions = {}): Promise<PerfWatch> {
  const config = resolveConfig(options);
  const logger = options.logger ?? createLogger(config.logLevel);
  // Before the file is opened: an invalid rules file stops start-up with nothing to undo.
  let alertRules: readonly AlertRule[] = await loadConfiguredRules(config);
  const regressionRules = await configuredRegressionRules(config);
  const store = await MetricStore.open(config.dbPath, {
    logger,
    memoryLimitBytes: config.duckdbMemoryLimitMiB * 1024 * 1024,
    maxSeries: config.maxSeries,
    maxSeriesPerMetric: config.maxSeriesPerMetric,
  });

  // Stop order matters: the receiver goes first (its accepted points are written), then the
  // MeterProvider, so its last collection still calls the collectors, /proc sources and runtime
  // callbacks; then the sources; the file closes last.
  const stopIntake: (() => Promise<void>)[] = [];
  const stopProvider: (() => Promise<void>)[] = [];
  const stopSources: (() => Promise<void> | void)[] = [];
  const stopAll = () =>
    runSteps([...stopIntake, ...stopProvider, ...stopSources, () => store.close()], logger);
  let shutdownPromise: Promise<void> | undefined;
  // Run after each written collection; filled once the processors exist.
  const afterCollection: (() => Promise<unknown>)[] = [];
  const collectionListeners = new Set<() => void>();
  try {
    let provider: MeterProvider | undefined;
    const duckDbReader = new DuckDbMetricReader({
      store,
      collectionIntervalMillis: config.collectionIntervalMillis,
      collectionTimeoutMillis: config.collectionTimeoutMillis,
      writeBufferCollections: config.writeBufferCollections,
      cardinalityLimit: config.cardinalityLimit,
      logger,
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      onCollectionWritten: async () => {
        for (const step of afterCollection) await step();
      },
      // The provider does not exist yet; self-metrics resolve it lazily on first record.
      selfMetricsMeterProvider: { getMeter: (...args) => (provider as MeterProvider).getMeter(...args) },
    });
    const readers: MetricReader[] = [duckDbReader];
    const prometheus = config.prometheusEnabled
      ? new PrometheusEndpoint({ cardinalityLimit: config.cardinalityLimit, logger })
      : undefined;
    if (prometheus) readers.push(prometheus.exporter);
    const otlpReader =
      config.otlpMetricsUrl === undefined
        ? undefined
        : createOtlpReader({
            url: config.otlpMetricsUrl,
            headers: config.otlpHeaders,
            exportIntervalMillis: config.otlpExportIntervalMillis,
            cardinalityLimit: config.cardinalityLimit,
            logger,
          });
    if (otlpReader) readers.push(otlpReader);
    const resource = createResource(config.serviceName, config.resourceAttributes);
    provider = new MeterProvider({
      resource,
      readers,
      views: defaultViews(config.cardinalityLimit),
    });
    const meterProvider = provider;
    stopProvider.push(() => meterProvider.shutdown({ timeoutMillis: SHUTDOWN_TIMEOUT_MILLIS }));

    if (config.hostMetrics) {
      // The network group is replaced by registerSystemMetrics: host-metrics reads it through a
      // synchronous shell command that blocks the event loop on every collection.
      new HostMetrics({
        meterProvider,
        name: 'perfwatch-host-metrics',
        metricGroups: ['system.cpu', 'system.memory', 'process.cpu', 'process.memory'],
      }).start();
      stopSources.push(
        registerSystemMetrics(meterProvider.getMeter('perfwatch-system-metrics', PERFWATCH_VERSION), {
          dataPath: store.path,
        }),
      );
    }
    if (config.runtimeMetrics) {
      const runtime = new RuntimeNodeInstrumentation({
        enabled: false,
        monitoringPrecision: config.eventLoopDelayResolutionMillis,
      });
      runtime.setMeterProvider(meterProvider);
      runtime.enable();
      stopSources.push(() => runtime.disable());
    }
    const collectors = new CollectorRegistry(
      meterProvider.getMeter('perfwatch-collectors', PERFWATCH_VERSION),
      logger,
    );
    stopSources.push(() => collectors.clear());

    const now = options.now ?? Date.now;
    const alertDeps = { store, meterProvider, now, logger };
    // Rules can change while running: the processor is looked up on every use.
    let alerts = await startAlerting(config, alertRules, alertDeps);
    afterCollection.push(async () => {
      await alerts?.evaluate();
      // The history is written before the collection's listeners (the event stream) hear of it.
      await alerts?.flushHistory();
    });
    stopSources.push(() => alerts?.shutdown());
    // One rules change at a time (PUT rules and SIGHUP may overlap).
    let rulesChange: Promise<unknown> = Promise.resolve();
    const applyRules = <T extends { rules: readonly AlertRule[] }>(next: () => Promise<T>): Promise<T> => {
      const run = rulesChange.then(async () => {
        if (shutdownPromise !== undefined) throw new ShutdownError('perfwatch');
        const answer = await next();
        if (alerts === undefined) alerts = await startAlerting(config, answer.rules, alertDeps);
        else await alerts.replaceRules(answer.rules);
        alertRules = answer.rules;
        logger.info({ alertRules: answer.rules.length }, 'alert rules replaced');
        return answer;
      });
      rulesChange = run.catch(() => undefined);
      return run;
    };
    const scheduler = options.scheduler ?? timerScheduler;
    const maintenance = startMaintenance(store, config, { scheduler, logger, now });
    stopSources.push(() => maintenance.shutdown());
    const regressions = new RegressionProcessor({
      store,
      logger,
      lookbackMillis: config.regressionLookbackHours * 3_600_000,
      rules: regressionRules,
      now,
    });
    await regressions.loadActiveCounts();
    stopSources.push(
      registerRegressionGauge(
        meterProvider.getMeter('perfwatch', PERFWATCH_VERSION),
        () => regressions.activeCounts(),
        [String(resource.attributes['service.name'])],
      ),
    );
    const regressionCycles = scheduleRegressionCycles(regressions, config.regressionIntervalMinutes, {
      scheduler,
      logger,
    });
    stopSources.push(() => regressionCycles.shutdown());
    stopSources.push(() => regressions.shutdown());

    const notifyListeners = () => {
      for (const listener of collectionListeners) {
        try {
          listener();
        } catch (error) {
          logger.error({ err: error }, 'a collection listener failed');
        }
      }
    };
    afterCollection.push(async () => notifyListeners());

    let prometheusUrl: string | undefined;
    if (prometheus) {
      prometheusUrl = (await prometheus.listen(config.prometheusHost, config.prometheusPort)).url;
      stopSources.push(() => prometheus.close());
    }
    const receiver =
      options.otlpReceiver === undefined
        ? undefined
        : await startReceiver(
            options.otlpReceiver,
            { store, logger, now, scheduler, notifyListeners },
            stopIntake,
          );
    logger.info(
      {
        db: store.path,
        intervalMillis: config.collectionIntervalMillis,
        prometheus: prometheusUrl,
        otlp: config.otlpMetricsUrl,
        alertRules: alertRules.length,
        alertmanager: config.alertmanagerUrl,
        otlpReceiver: receiver?.url,
      },
      'perfwatch started',
    );

    return {
      meter: meterProvider.getMeter(config.serviceName ?? 'app'),
      meterProvider,
      store,
      config,
      prometheusUrl,
      get alerts() {
        return alerts;
      },
      regressions,
      regressionRules,
      get alertRules() {
        return alertRules;
      },
      replaceAlertRules: (document) => applyRules(() => rulesReplacedBy(config, document)),
      reloadAlertRules: async () =>
        (await applyRules(async () => ({ rules: await loadConfiguredRules(config) }))).rules,
      prometheusExporter: prometheus?.exporter,
      logger,
      receiver,
      status: () => duckDbReader.status,
      onCollection: (listener) => {
        collectionListeners.add(listener);
        return () => collectionListeners.delete(listener);
      },
      registerCollector: (name, collector) => collectors.register(name, collector),
      cleanup: async (retentionDays = config.retentionDays) => {
        if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 365) {
          throw new ConfigError(
            'retentionDays',
            `must be an integer between 1 and 365, got ${String(retentionDays)}`,
          );
        }
        const at = now();
        return store.deleteBefore(new Date(at - retentionDays * DAY_MILLIS), {
          rollupCutoff: new Date(at - config.rollupRetentionDays * DAY_MILLIS),
          nowMillis: at,
        });
      },
      snapshot: (outPath = config.snapshotPath) => {
        if (outPath === undefined) {
          return Promise.reject(
            new ConfigError('snapshotPath (PERFWATCH_SNAPSHOT_PATH)', 'give a path to write the snapshot to'),
          );
        }
        return store.snapshot(outPath);
      },
      // OTLP failures are already logged (rate-limited) by its exporter; they must not fail a
      // flush whose DuckDB write succeeded.
      forceFlush: async () => {
        if (shutdownPromise !== undefined) throw new ShutdownError('perfwatch');
        // Received points first, so the collection that follows (and its alert evaluation) sees them.
        await receiver?.forceFlush();
        await Promise.all([duckDbReader.forceFlush(), otlpReader?.forceFlush().catch(() => undefined)]);
        await alerts?.forceFlush();
      },
      shutdown: () => {
        shutdownPromise ??= stopAll();
        return shutdownPromise;
      },
    };
  } catch (error) {
    // Start-up failed: release everything, but report why start-up failed, not a cleanup error.
    await stopAll().catch(() => undefined);
    throw error;
  }
}

/**
 * The OTLP/HTTP receiver, writing through the same store as the reader; listening once this
 * resolves. Its ConfigErrors name the option (`otlpReceiver.port`), not a bare `port`.
 */
async function startReceiver(
  settings: NonNullable<PerfWatchOptions['otlpReceiver']>,
  deps: {
    store: MetricStore;
    logger: Logger;
    now: () => number;
    scheduler: Scheduler;
    notifyListeners: () => void;
  },
  stopIntake: (() => Promise<void>)[],
): Promise<RunningReceiver & { forceFlush(): Promise<void> }> {
  // Loaded only here: protobufjs and the OTLP schema cost start-up time nobody else needs.
  const { OtlpReceiver } = await import('./receiver/OtlpReceiver.js');
  let written = false;
  const writes = new ReceivedWrites(deps.store, deps.now, () => {
    written = true;
  });
  let receiver: InstanceType<typeof OtlpReceiver>;
  let url: string;
  try {
    receiver = new OtlpReceiver({ ...settings, store: writes, logger: deps.logger });
    url = await receiver.start();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`otlpReceiver.${error.setting}`, error.message.slice(error.setting.length + 2), {
      cause: error,
    });
  }
  const notices = deps.scheduler.every(RECEIVED_NOTICE_MILLIS, () => {
    if (!written) return;
    written = false;
    deps.notifyListeners();
  });
  stopIntake.push(async () => {
    await receiver.shutdown();
    notices.cancel();
  });
  return {
    url,
    status: () => ({ ...writes.status, pendingPoints: receiver.pendingPoints }),
    forceFlush: () => receiver.forceFlush(),
  };
}

/** Runs every step even when one fails; the first failure is raised at the end. */
async function runSteps(steps: readonly (() => Promise<void> | void)[], logger: Logger): Promise<void> {
  let firstError: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      logger.error({ err: error }, 'error while shutting down');
      firstError ??= error;
    }
  }
  if (firstError !== undefined) throw firstError;
}
