import { BenchmarkError } from '../errors.js';
import { type Benchmark, benchmarkStatements, readBenchmark } from '../store/benchmarkRecords.js';
import type { MetricStore } from '../store/MetricStore.js';
import { captureWindow } from './captureWindow.js';

export interface CreateBenchmarkOptions {
  /** Unique name: letters, digits and `._:-`, at most 128 characters, starting with a letter or digit. */
  readonly name: string;
  /** Start of the window; without it the window is `durationMillis` back from `to`. */
  readonly from?: Date;
  /** End of the window (exclusive). @default now */
  readonly to?: Date;
  /** Window length when `from` is not given. @default 60 min (the original's) */
  readonly durationMillis?: number;
  /** Only these service.name values. @default every service */
  readonly services?: readonly string[];
  /** Only metrics matching these globs. @default every metric except perfwatch.* */
  readonly metrics?: readonly string[];
  /** Only data of this service.version. */
  readonly version?: string;
  /** Bucket width in seconds. @default 60, or whole minutes giving at most 1,440 buckets */
  readonly stepSeconds?: number;
  /** Overwrite a benchmark of the same name; without it, that is an error. @default false */
  readonly replace?: boolean;
  /** @default Date.now */
  readonly now?: () => number;
}

/** At most this many values are kept per series (a day of minutes). */
const MAX_BENCHMARK_BUCKETS = 1440;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Captures a window of the history as a named benchmark (see captureWindow) and stores it in
 * one transaction: a failure leaves the history, and any benchmark of that name, as they were.
 */
export async function createBenchmark(
  store: MetricStore,
  options: CreateBenchmarkOptions,
): Promise<Benchmark> {
  const name = validateBenchmarkName(options.name);
  const now = options.now ?? Date.now;
  const to = options.to ?? new Date(now());
  const durationMillis = options.durationMillis ?? 60 * 60_000;
  if (!(durationMillis > 0))
    throw new BenchmarkError('invalid', 'duration', `must be a positive duration, got ${durationMillis} ms`);
  const from = options.from ?? new Date(to.getTime() - durationMillis);
  if (!(from.getTime() < to.getTime()))
    throw new BenchmarkError(
      'invalid',
      'from',
      `must be before to (${from.toISOString()} is not before ${to.toISOString()})`,
    );
  const stepSeconds = options.stepSeconds ?? defaultStepSeconds(to.getTime() - from.getTime());
  const buckets = Math.ceil((to.getTime() - from.getTime()) / (stepSeconds * 1000));
  if (!(stepSeconds > 0) || buckets > MAX_BENCHMARK_BUCKETS)
    throw new BenchmarkError(
      'invalid',
      'step',
      `${stepSeconds} s gives ${buckets} values per series over this window, more than ${MAX_BENCHMARK_BUCKETS}; use a larger step`,
    );
  const existing = await readBenchmark(store, name);
  if (existing !== undefined && options.replace !== true)
    throw new BenchmarkError(
      'exists',
      'name',
      `a benchmark named ${JSON.stringify(name)} already exists (created ${existing.createdAt.toISOString()}); replace it with --replace, or choose another name`,
    );
  const services = [...new Set(options.services ?? [])];
  const metrics = [...new Set(options.metrics ?? [])];
  const selection = {
    from,
    to,
    stepSeconds,
    services,
    metrics,
    ...(options.version === undefined ? {} : { version: options.version }),
  };
  const captured = await captureWindow(store, selection);
  const missing = services.filter((service) => !captured.series.some((s) => s.service === service));
  if (captured.series.length === 0 || missing.length > 0)
    throw new BenchmarkError('no_data', 'window', `${describeEmpty(selection, missing)}; nothing was stored`);
  const benchmark: Benchmark = {
    name,
    createdAt: new Date(now()),
    from,
    to,
    stepSeconds,
    services,
    metrics,
    version: options.version ?? null,
    resources: captured.resources,
    seriesCount: captured.series.length,
    series: captured.series,
  };
  await store.execute(benchmarkStatements(benchmark));
  return benchmark;
}

function validateBenchmarkName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name))
    throw new BenchmarkError(
      'invalid',
      'name',
      `must be 1–128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit, got ${JSON.stringify(name)}`,
    );
  return name;
}

/** One minute, or the whole minutes that keep the window within MAX_BENCHMARK_BUCKETS buckets. */
function defaultStepSeconds(windowMillis: number): number {
  return 60 * Math.max(1, Math.ceil(windowMillis / 60_000 / MAX_BENCHMARK_BUCKETS));
}

/** What had no data, in the user's terms. */
export function describeEmpty(
  selection: {
    from: Date;
    to: Date;
    services?: readonly string[];
    metrics?: readonly string[];
    version?: string;
  },
  missingServices: readonly string[],
): string {
  const parts = [`no data between ${selection.from.toISOString()} and ${selection.to.toISOString()}`];
  const services = missingServices.length > 0 ? missingServices : (selection.services ?? []);
  if (services.length > 0) parts.push(`for service.name ${services.join(', ')}`);
  if (selection.version !== undefined) parts.push(`with service.version ${selection.version}`);
  if ((selection.metrics ?? []).length > 0) parts.push(`in metrics ${selection.metrics!.join(', ')}`);
  return parts.join(' ');
}
