import type {
  Attributes,
  BatchObservableCallback,
  Counter,
  Meter,
  ObservableGauge,
} from '@opentelemetry/api';
import { PerfWatchError } from '../errors.js';
import type { Logger } from '../logging/Logger.js';
import { RateLimitedWarning } from '../logging/RateLimitedWarning.js';

/** A gauge a collector reports; OTel needs instruments declared before they are observed. */
export interface CollectorMetric {
  /** UCUM unit, e.g. `By`, `s`, `{user}`. @default '' */
  unit?: string;
  description?: string;
}

export interface CollectorSample {
  /** One of the names declared in `metrics`. */
  metric: string;
  value: number;
  attributes?: Attributes;
}

/**
 * A pull-style custom collector (the original system's "custom collectors"): called once per
 * collection, it returns the current values of the gauges it declared.
 */
export interface CustomCollector {
  metrics: Record<string, CollectorMetric>;
  collect(): CollectorSample[] | Promise<CollectorSample[]>;
}

/**
 * Runs custom collectors inside the SDK's collection, each in its own callback: one that throws,
 * times out or returns bad samples is logged and counted in `perfwatch.collector.errors`, and the
 * other collectors and metrics are collected as usual.
 */
export class CollectorRegistry {
  private readonly collectors = new Map<string, () => void>();
  private readonly metricOwners = new Map<string, string>();
  private readonly errors: Counter;

  constructor(
    private readonly meter: Meter,
    private readonly logger: Logger,
    private readonly timeoutMillis = 5000,
  ) {
    this.errors = meter.createCounter('perfwatch.collector.errors', {
      unit: '{error}',
      description: 'Failures of custom collectors (thrown, timed out or invalid samples).',
    });
  }

  /** Registers a collector under a unique name; returns a function that unregisters it. */
  register(name: string, collector: CustomCollector): () => void {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new PerfWatchError('PERFWATCH_COLLECTOR_INVALID', 'collector name must be a non-empty string');
    }
    if (this.collectors.has(name)) {
      throw new PerfWatchError(
        'PERFWATCH_COLLECTOR_DUPLICATE',
        `a collector named "${name}" is already registered`,
      );
    }
    const metricNames = Object.keys(collector?.metrics ?? {});
    if (metricNames.length === 0 || typeof collector.collect !== 'function') {
      throw new PerfWatchError(
        'PERFWATCH_COLLECTOR_INVALID',
        `collector "${name}" must declare at least one metric in \`metrics\` and have a \`collect()\` function`,
      );
    }
    for (const metric of metricNames) {
      const owner = this.metricOwners.get(metric);
      if (owner !== undefined) {
        throw new PerfWatchError(
          'PERFWATCH_COLLECTOR_DUPLICATE',
          `collector "${name}" declares metric "${metric}", already reported by collector "${owner}"`,
        );
      }
    }

    const gauges = new Map<string, ObservableGauge>();
    for (const metric of metricNames) {
      const { unit = '', description = '' } = collector.metrics[metric]!;
      gauges.set(metric, this.meter.createObservableGauge(metric, { unit, description }));
      this.metricOwners.set(metric, name);
    }
    const warning = new RateLimitedWarning(this.logger, 60_000);
    const fail = (reason: string, error?: unknown) => {
      this.errors.add(1, { collector: name });
      warning.warn({ collector: name, err: error }, `custom collector "${name}" failed: ${reason}`);
    };

    const callback: BatchObservableCallback = async (result) => {
      let samples: CollectorSample[];
      try {
        samples = await withTimeout(
          Promise.resolve().then(() => collector.collect()),
          this.timeoutMillis,
        );
      } catch (error) {
        fail(
          error instanceof TimeoutError ? `timed out after ${this.timeoutMillis} ms` : String(error),
          error,
        );
        return;
      }
      if (!Array.isArray(samples)) {
        fail('collect() must return an array of samples');
        return;
      }
      for (const sample of samples) {
        const gauge = gauges.get(sample?.metric);
        if (gauge === undefined) fail(`sample names undeclared metric ${JSON.stringify(sample?.metric)}`);
        else if (typeof sample.value !== 'number' || !Number.isFinite(sample.value)) {
          fail(`sample of ${sample.metric} has value ${String(sample.value)}, which is not a finite number`);
        } else result.observe(gauge, sample.value, sample.attributes);
      }
    };
    const observables = [...gauges.values()];
    this.meter.addBatchObservableCallback(callback, observables);
    const unregister = () => {
      if (!this.collectors.delete(name)) return;
      this.meter.removeBatchObservableCallback(callback, observables);
      for (const metric of metricNames) this.metricOwners.delete(metric);
    };
    this.collectors.set(name, unregister);
    return unregister;
  }

  /** Unregisters every collector. */
  clear(): void {
    for (const unregister of [...this.collectors.values()]) unregister();
  }
}

class TimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, millis: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError()), millis);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
