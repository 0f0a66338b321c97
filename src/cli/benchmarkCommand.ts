import type { Command } from 'commander';
import { compareBenchmark } from '../analysis/compareBenchmark.js';
import type { BenchmarkVerdict } from '../analysis/compareSamples.js';
import { createBenchmark } from '../analysis/createBenchmark.js';
import { deleteBenchmark } from '../analysis/deleteBenchmark.js';
import { loadRegressionRules } from '../analysis/loadRegressionRules.js';
import { BenchmarkGateError, ConfigError } from '../errors.js';
import { type Benchmark, listBenchmarks, requireBenchmark } from '../store/benchmarkRecords.js';
import { HistoryReader } from '../store/HistoryReader.js';
import {
  benchmarkListText,
  benchmarkText,
  comparisonMarkdown,
  comparisonText,
  seriesName,
} from './benchmarkReport.js';
import { jsonValue } from './formatRows.js';
import { openForMaintenance } from './openForMaintenance.js';
import { historyPath, openForReading } from './openHistory.js';
import { parseDuration, parseTime } from './timeArguments.js';

const DB_HELP = 'history file (env PERFWATCH_DB_PATH, default ./data/perfwatch.duckdb)';
const WHILE_RUNNING =
  'a running `perfwatch start` holds the file; benchmarks are created and deleted on a stopped file (or through the HTTP API)';
const collect = (value: string, previous: string[]) => [...previous, value];

interface CreateFlags {
  db?: string;
  duration?: string;
  from?: string;
  to?: string;
  service: string[];
  metric: string[];
  version?: string;
  step?: string;
  replace?: boolean;
  at?: string;
  json?: boolean;
}

interface CompareFlags {
  db?: string;
  window?: string;
  from?: string;
  to?: string;
  with?: string;
  version?: string;
  stableBand: string;
  alpha: string;
  rules?: string;
  failOn?: string;
  at?: string;
  json?: boolean;
  markdown?: boolean;
}

/** `perfwatch benchmark create|list|show|delete|compare`: named baselines kept in the history file, and CI gates on them. */
export function registerBenchmarkCommand(program: Command): void {
  const benchmark = program
    .command('benchmark')
    .description('named performance baselines kept in the history, compared with later windows (CI gates)');

  benchmark
    .command('create')
    .description('capture a window of the history as a named benchmark (perfwatch stopped)')
    .argument('<name>', "unique name: letters, digits, '.', '_', ':' or '-'")
    .option('--db <path>', DB_HELP)
    .option('--duration <duration>', 'window ending now (or at --to / --at), e.g. 60m (default 60m)')
    .option('--from <time>', 'window start, ISO 8601 (up to --to, or now)')
    .option('--to <time>', 'window end, ISO 8601 (exclusive)')
    .option('--service <name>', 'only this service.name; repeatable', collect, [])
    .option(
      '--metric <glob>',
      'only metrics matching this glob; repeatable (default: all but perfwatch.*)',
      collect,
      [],
    )
    .option('--version <version>', 'only data of this service.version')
    .option('--step <duration>', 'bucket width of the stored values (default 1m, at most 1,440 buckets)')
    .option('--replace', 'overwrite a benchmark of the same name')
    .option('--at <time>', 'take "now" as this time (ISO 8601)')
    .option('--json', 'print the benchmark (without bucket values) as JSON')
    .action(async (name: string, flags: CreateFlags) => {
      if (flags.duration !== undefined && flags.from !== undefined)
        throw new ConfigError('--duration', 'give either --duration or --from, not both');
      const now = nowOf(flags.at);
      const options = {
        name,
        now,
        services: flags.service,
        metrics: flags.metric,
        replace: flags.replace === true,
        ...(flags.duration === undefined
          ? {}
          : { durationMillis: parseDuration('--duration', flags.duration) * 1000 }),
        ...(flags.from === undefined ? {} : { from: parseTime('--from', flags.from) }),
        ...(flags.to === undefined ? {} : { to: parseTime('--to', flags.to) }),
        ...(flags.version === undefined ? {} : { version: flags.version }),
        ...(flags.step === undefined ? {} : { stepSeconds: parseDuration('--step', flags.step) }),
      };
      if (options.from !== undefined && options.to !== undefined && options.from >= options.to)
        throw new ConfigError('--from', `must be before --to (${flags.from} is not before ${flags.to})`);
      const store = await openForMaintenance(historyPath(flags.db), WHILE_RUNNING);
      try {
        const created = await createBenchmark(store, options);
        if (flags.json) return print(JSON.stringify(jsonValue(withoutValues(created)), null, 2));
        print(
          `created benchmark "${created.name}": ${created.seriesCount} series from ${created.from.toISOString()} to ${created.to.toISOString()}` +
            ` (${created.resources.map((r) => `${r.service} ${r.versions.join('/')}`.trim()).join(', ')})`,
        );
      } finally {
        await store.close();
      }
    });

  benchmark
    .command('list')
    .description('every benchmark, newest first')
    .option('--db <path>', DB_HELP)
    .option('--json', 'JSON output')
    .action(async (flags: { db?: string; json?: boolean }) => {
      const reader = await openForReading(historyPath(flags.db), HistoryReader.open);
      try {
        const benchmarks = await listBenchmarks(reader);
        print(
          flags.json ? JSON.stringify(jsonValue({ benchmarks }), null, 2) : benchmarkListText(benchmarks),
        );
      } finally {
        reader.close();
      }
    });

  benchmark
    .command('show')
    .description("a benchmark's window, services and per-series statistics")
    .argument('<name>', 'benchmark name')
    .option('--db <path>', DB_HELP)
    .option('--json', 'JSON output')
    .option('--values', 'with --json: include every bucket value')
    .action(async (name: string, flags: { db?: string; json?: boolean; values?: boolean }) => {
      const reader = await openForReading(historyPath(flags.db), HistoryReader.open);
      try {
        const found = await requireBenchmark(reader, name);
        if (!flags.json) return print(benchmarkText(found));
        print(JSON.stringify(jsonValue(flags.values ? found : withoutValues(found)), null, 2));
      } finally {
        reader.close();
      }
    });

  benchmark
    .command('delete')
    .description('delete a benchmark (perfwatch stopped)')
    .argument('<name>', 'benchmark name')
    .option('--db <path>', DB_HELP)
    .action(async (name: string, flags: { db?: string }) => {
      const store = await openForMaintenance(historyPath(flags.db), WHILE_RUNNING);
      try {
        await deleteBenchmark(store, name);
        print(`deleted benchmark "${name}"`);
      } finally {
        await store.close();
      }
    });

  benchmark
    .command('compare')
    .description(
      'compare a benchmark with a current window, another benchmark or a service.version; exit 1 with --fail-on when a series fails',
    )
    .argument('<name>', 'benchmark name')
    .option('--db <path>', DB_HELP)
    .option('--window <duration>', "current window ending now (default: the benchmark's duration)")
    .option('--from <time>', 'current window start, ISO 8601 (with --to)')
    .option('--to <time>', 'current window end, ISO 8601 (exclusive)')
    .option('--with <benchmark>', 'compare with another benchmark instead')
    .option('--version <version>', "compare with this service.version's data (its last --window)")
    .option('--stable-band <percent>', 'changes of the mean within ± this percentage are stable', '5')
    .option('--alpha <p>', 'significance level of the rank test', '0.01')
    .option('--rules <file>', 'regression rules file for metric directions (env PERFWATCH_REGRESSION_RULES)')
    .option(
      '--fail-on <verdicts>',
      'exit 1 when any series has one of these verdicts: degraded, insufficient_data (comma-separated)',
    )
    .option('--at <time>', 'take "now" as this time (ISO 8601)')
    .option('--json', 'JSON output')
    .option('--markdown', 'Markdown output, for a pull-request comment')
    .action(async (name: string, flags: CompareFlags) => {
      const failOn = parseFailOn(flags.failOn);
      if (flags.json && flags.markdown)
        throw new ConfigError('--markdown', 'give either --json or --markdown');
      if (flags.with !== undefined) {
        for (const flag of ['window', 'from', 'to', 'version'] as const)
          if (flags[flag] !== undefined)
            throw new ConfigError('--with', `compares two benchmarks; it takes no --${flag}`);
      }
      if ((flags.from === undefined) !== (flags.to === undefined))
        throw new ConfigError(
          flags.from === undefined ? '--to' : '--from',
          'the current window needs both --from and --to',
        );
      if (flags.from !== undefined && flags.window !== undefined)
        throw new ConfigError('--window', 'give either --window or --from/--to');
      const rulesPath = flags.rules ?? (process.env.PERFWATCH_REGRESSION_RULES?.trim() || undefined);
      const options = {
        now: nowOf(flags.at),
        stableBand: parsePercent('--stable-band', flags.stableBand),
        alpha: parseAlpha(flags.alpha),
        rules: rulesPath === undefined ? [] : await loadRegressionRules(rulesPath),
        ...(flags.window === undefined
          ? {}
          : { windowMillis: parseDuration('--window', flags.window) * 1000 }),
        ...(flags.from === undefined ? {} : { from: parseTime('--from', flags.from) }),
        ...(flags.to === undefined ? {} : { to: parseTime('--to', flags.to) }),
        ...(flags.with === undefined ? {} : { with: flags.with }),
        ...(flags.version === undefined ? {} : { version: flags.version }),
      };
      if (options.from !== undefined && options.to !== undefined && options.from >= options.to)
        throw new ConfigError('--from', `must be before --to (${flags.from} is not before ${flags.to})`);
      const reader = await openForReading(historyPath(flags.db), HistoryReader.open);
      let comparison: Awaited<ReturnType<typeof compareBenchmark>>;
      try {
        comparison = await compareBenchmark(reader, name, options);
      } finally {
        reader.close();
      }
      if (flags.json) print(JSON.stringify(jsonValue(comparison), null, 2));
      else if (flags.markdown) print(comparisonMarkdown(comparison));
      else print(comparisonText(comparison));
      const failing = comparison.series.filter((s) => failOn.includes(s.verdict));
      if (failing.length > 0) {
        if (!flags.json && !flags.markdown)
          for (const s of failing) process.stderr.write(`perfwatch: ${s.verdict}: ${seriesName(s)}\n`);
        throw new BenchmarkGateError(failing.length, failOn);
      }
    });
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function nowOf(at: string | undefined): () => number {
  const fixed = at === undefined ? undefined : parseTime('--at', at).getTime();
  return fixed === undefined ? Date.now : () => fixed;
}

function withoutValues(b: Benchmark) {
  return { ...b, series: b.series.map(({ values: _values, ...rest }) => rest) };
}

const GATE_VERDICTS: readonly BenchmarkVerdict[] = ['degraded', 'insufficient_data'];

function parseFailOn(text: string | undefined): BenchmarkVerdict[] {
  if (text === undefined) return [];
  const verdicts = text.split(',').map((v) => v.trim());
  for (const verdict of verdicts)
    if (!GATE_VERDICTS.includes(verdict as BenchmarkVerdict))
      throw new ConfigError(
        '--fail-on',
        `must be degraded or insufficient_data (comma-separated), got ${JSON.stringify(verdict)}`,
      );
  return verdicts as BenchmarkVerdict[];
}

/** `5` or `5%` → 0.05. */
function parsePercent(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text.trim());
  const value = match ? Number(match[1]) : Number.NaN;
  if (!(value >= 0 && value < 1000))
    throw new ConfigError(flag, `must be a percentage such as 5 or 2.5%, got ${JSON.stringify(text)}`);
  return value / 100;
}

function parseAlpha(text: string): number {
  const value = Number(text);
  if (!(value > 0 && value < 1) || text.trim() === '')
    throw new ConfigError(
      '--alpha',
      `must be a probability between 0 and 1 such as 0.01, got ${JSON.stringify(text)}`,
    );
  return value;
}
