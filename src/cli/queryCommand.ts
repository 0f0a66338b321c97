import { type Command, Option } from 'commander';
import { ConfigError, StoreLockedError } from '../errors.js';
import { HistoryReader } from '../store/HistoryReader.js';
import {
  AGGREGATIONS,
  type Aggregation,
  queryTimeSeries,
  type TimeSeriesResult,
} from '../store/queryTimeSeries.js';
import type { Row } from '../store/toJs.js';
import { formatCsv, formatTable, OUTPUT_FORMATS, type OutputFormat } from './formatRows.js';
import { historyPath, openForReading } from './openHistory.js';
import { apiBaseUrl, throughService } from './serviceApi.js';
import { parseDuration, parseMatcher, parseTime } from './timeArguments.js';

interface QueryFlags {
  db?: string;
  since?: string;
  from?: string;
  to?: string;
  step: string;
  agg: Aggregation;
  where: string[];
  groupBy: string[];
  format: OutputFormat;
  json?: boolean;
  api?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `perfwatch query METRIC`: time-bucketed series from the history. */
export function registerQueryCommand(program: Command): void {
  program
    .command('query')
    .description('time-bucketed series of a metric (or a glob of metrics) from the history')
    .argument('<metric>', 'metric name, or a glob such as "system.cpu.*"')
    .option('--db <path>', 'history file (env PERFWATCH_DB_PATH, default ./data/perfwatch.duckdb)')
    .option('--since <duration>', 'range ending now, e.g. 15m, 1h, 7d (default 1h)')
    .option('--from <time>', 'range start, ISO 8601 (with --to, or up to now)')
    .option('--to <time>', 'range end, ISO 8601 (exclusive)')
    .option('--step <duration>', 'bucket width', '1m')
    .addOption(
      new Option('--agg <aggregation>', 'aggregation per bucket').choices(AGGREGATIONS).default('avg'),
    )
    .option(
      '--where <key=value>',
      'keep series whose attribute (or resource attribute) equals value; repeatable',
      collect,
      [],
    )
    .option('--group-by <key>', 'one series per value of this attribute; repeatable', collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .option('--json', 'same as --format json')
    .option(
      '--api <url>',
      'when a running perfwatch holds the file, ask it through its HTTP API here (env PERFWATCH_API_URL, default http://127.0.0.1:9465)',
    )
    .action(async (metric: string, flags: QueryFlags) => {
      const stepSeconds = parseDuration('--step', flags.step);
      const { from, to } = timeRange(flags, new Date(), stepSeconds);
      const where = Object.fromEntries(flags.where.map((text) => parseMatcher('--where', text)));
      const query = {
        metric,
        from,
        to,
        stepSeconds,
        aggregation: flags.agg,
        where,
        groupBy: flags.groupBy,
      };
      let result: TimeSeriesResult;
      try {
        const reader = await openForReading(historyPath(flags.db), (path) => HistoryReader.open(path));
        try {
          result = await queryTimeSeries(reader, query);
        } finally {
          reader.close();
        }
      } catch (error) {
        if (!(error instanceof StoreLockedError)) throw error;
        // The service answers with the same query layer; GET metrics takes the same arguments.
        const params = new URLSearchParams({
          metric_name: metric,
          from: from.toISOString(),
          to: to.toISOString(),
          step: `${stepSeconds}s`,
          aggregation: flags.agg,
          limit: '10000',
        });
        for (const [key, value] of Object.entries(where)) params.append('where', `${key}=${value}`);
        for (const key of flags.groupBy) params.append('group_by', key);
        result = fromJson(
          await throughService(apiBaseUrl(flags.api), error, (call) => call('GET', `/metrics?${params}`)),
        );
      }
      const format = flags.json ? 'json' : flags.format;
      process.stdout.write(`${render(result, format, flags.groupBy)}\n`);
      if (format === 'table') {
        process.stderr.write(
          `(${result.series.length} series × ${result.series[0]?.points.length ?? 0} buckets of ${stepSeconds} s, ${flags.agg}, ${result.source === 'rollup' ? 'from 1-minute rollups and the raw points after them' : 'from raw points'})\n`,
        );
      }
    });
}

/** GET metrics' JSON answer with its times as Dates again. */
function fromJson(data: unknown): TimeSeriesResult {
  const result = data as TimeSeriesResult & { from: string; to: string };
  return {
    ...result,
    from: new Date(result.from),
    to: new Date(result.to),
    series: result.series.map((series) => {
      const points = series.points.map((point) => ({
        time: new Date(point.time as unknown as string),
        value: point.value,
      }));
      return {
        metric: series.metric,
        labels: series.labels,
        points,
        times: points.map((point) => point.time),
        values: points.map((point) => point.value),
      };
    }),
  };
}

/**
 * --from/--to as given; --since ends at `now` rounded up to the step, so buckets start on whole
 * steps (10:05:00, not 10:04:47.883) as dashboards draw them.
 */
function timeRange(flags: QueryFlags, now: Date, stepSeconds: number): { from: Date; to: Date } {
  if (flags.since !== undefined && (flags.from !== undefined || flags.to !== undefined)) {
    throw new ConfigError('--since', 'cannot be combined with --from/--to');
  }
  if (flags.from === undefined && flags.to !== undefined) throw new ConfigError('--to', 'needs --from');
  if (flags.from !== undefined) {
    const from = parseTime('--from', flags.from);
    const to = flags.to === undefined ? now : parseTime('--to', flags.to);
    if (from.getTime() >= to.getTime()) {
      throw new ConfigError('--from', `${from.toISOString()} is not before --to ${to.toISOString()}`);
    }
    return { from, to };
  }
  const seconds = parseDuration('--since', flags.since ?? '1h');
  const stepMillis = stepSeconds * 1000;
  const to = Math.ceil(now.getTime() / stepMillis) * stepMillis;
  const from = to - Math.ceil((seconds * 1000) / stepMillis) * stepMillis;
  return { from: new Date(from), to: new Date(to) };
}

function render(result: TimeSeriesResult, format: OutputFormat, groupBy: readonly string[]): string {
  if (format === 'json') {
    return JSON.stringify(
      {
        ...result,
        from: result.from.toISOString(),
        to: result.to.toISOString(),
        series: result.series.map((series) => ({
          metric: series.metric,
          labels: series.labels,
          points: series.points.map((point) => ({ time: point.time.toISOString(), value: point.value })),
        })),
      },
      null,
      2,
    );
  }
  const columns = ['time', 'metric', ...groupBy, 'value'];
  const rows: Row[] = result.series.flatMap((series) =>
    series.points.map((point) => ({
      time: point.time.toISOString(),
      metric: series.metric,
      ...series.labels,
      value: point.value,
    })),
  );
  return format === 'csv' ? formatCsv(columns, rows) : formatTable(columns, rows);
}
