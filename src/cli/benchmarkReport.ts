import type { BenchmarkComparison, SeriesComparison } from '../analysis/compareBenchmark.js';
import { formatPercent } from '../analysis/compareSamples.js';
import type { Benchmark, BenchmarkInfo } from '../store/benchmarkRecords.js';
import { formatTable } from './formatRows.js';

/** `p95 of http.server.request.duration {http.route=/pay}`. */
export function seriesName(s: {
  metric: string;
  statistic: string;
  labels: Readonly<Record<string, string | null>>;
}): string {
  const labels = Object.entries(s.labels)
    .filter(([, value]) => value !== null)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
  return `${s.statistic === 'value' ? '' : `${s.statistic} of `}${s.metric}${labels === '' ? '' : ` {${labels}}`}`;
}

/** 4 significant digits and the unit (`/s` for rates; no annotation units such as `{request}`). */
export function formatValue(value: number | null | undefined, unit: string, statistic: string): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const number = Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
  const shown = unit === '1' || unit.startsWith('{') ? '' : unit;
  const suffix = statistic === 'rate' ? `${shown}/s` : shown;
  return suffix === '' ? number : `${number} ${suffix}`;
}

function shiftText(s: SeriesComparison): string {
  if (s.test === null) return '–';
  const shift = formatValue(s.test.shift, s.unit, s.statistic);
  const sign = s.test.shift > 0 ? '+' : '';
  if (Number.isNaN(s.test.shiftLow)) return `${sign}${shift}`;
  const bound = (v: number) => String(Number(v.toPrecision(3)));
  return `${sign}${shift} (${bound(s.test.shiftLow)} … ${bound(s.test.shiftHigh)})`;
}

function pText(p: number | undefined): string {
  return p === undefined || Number.isNaN(p)
    ? '–'
    : p < 1e-4
      ? p.toExponential(1)
      : String(Number(p.toPrecision(2)));
}

function againstText(c: BenchmarkComparison): string {
  const range = `${c.against.from.toISOString()} → ${c.against.to.toISOString()}`;
  if (c.against.kind === 'benchmark') return `benchmark "${c.against.name}" (${range})`;
  if (c.against.kind === 'version') return `service.version ${c.against.version} (${range})`;
  const minutes = Math.round((c.against.to.getTime() - c.against.from.getTime()) / 60_000);
  return `the ${minutes} min window ${range}`;
}

function countsText(c: BenchmarkComparison): string {
  const s = c.summary;
  return `${s.degraded} degraded, ${s.improved} improved, ${s.stable} stable, ${s.insufficient_data} insufficient data`;
}

function rowOf(s: SeriesComparison) {
  return {
    verdict: s.verdict,
    service: s.service ?? '',
    series: seriesName(s),
    baseline: formatValue(s.baseline?.mean, s.unit, s.statistic),
    current: formatValue(s.current?.mean, s.unit, s.statistic),
    change: formatPercent(s.changePercent / 100),
    p: pText(s.test?.pValue),
    'welch p': pText(s.welch?.pValue),
    'shift (95 % CI)': shiftText(s),
  };
}

/** The comparison for a terminal: a header, the counts, one line per series, then why for each change. */
export function comparisonText(c: BenchmarkComparison): string {
  const head = [
    `benchmark "${c.benchmark.name}" (${c.benchmark.from.toISOString()} → ${c.benchmark.to.toISOString()}) vs ${againstText(c)}`,
    `${countsText(c)} (stable band ±${formatPercent(c.stableBand, false)}, significant at p < ${c.alpha}; baseline and current are means of ${c.benchmark.stepSeconds} s buckets)`,
  ];
  const rows = c.series.map(rowOf);
  const columns = [
    'verdict',
    'service',
    'series',
    'baseline',
    'current',
    'change',
    'p',
    'welch p',
    'shift (95 % CI)',
  ];
  const notes = c.series
    .filter((s) => s.verdict === 'degraded' || s.verdict === 'improved')
    .map(
      (s) =>
        `  ${s.verdict.toUpperCase()}  ${seriesName(s)}${s.service === null ? '' : ` (${s.service})`}: ${s.reason}`,
    );
  return [...head, '', formatTable(columns, rows), ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}

const MARKS: Record<SeriesComparison['verdict'], string> = {
  degraded: '🔴 degraded',
  improved: '🟢 improved',
  stable: '⚪ stable',
  insufficient_data: '⚠️ insufficient data',
};

/** A Markdown cell: pipes escaped, no line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function markdownTable(series: readonly SeriesComparison[]): string[] {
  return [
    '| Verdict | Series | Service | Baseline | Current | Change | p (rank test) | Shift (95 % CI) |',
    '|---|---|---|---:|---:|---:|---:|---|',
    ...series.map((s) => {
      const r = rowOf(s);
      return `| ${MARKS[s.verdict]} | ${cell(r.series)} | ${cell(r.service)} | ${r.baseline} | ${r.current} | ${r.change} | ${r.p} | ${cell(r['shift (95 % CI)'])} |`;
    }),
  ];
}

/** The comparison as Markdown for a pull-request comment: changes in a table, the rest folded away. */
export function comparisonMarkdown(c: BenchmarkComparison): string {
  const changed = c.series.filter((s) => s.verdict === 'degraded' || s.verdict === 'improved');
  const rest = c.series.filter((s) => s.verdict === 'stable' || s.verdict === 'insufficient_data');
  const title =
    c.summary.degraded > 0
      ? `${c.summary.degraded} series degraded`
      : c.summary.improved > 0
        ? `${c.summary.improved} series improved, none degraded`
        : 'no significant change';
  const lines = [
    `### perfwatch benchmark \`${c.benchmark.name}\`: ${title}`,
    '',
    `Compared with ${againstText(c)}; benchmark window ${c.benchmark.from.toISOString()} → ${c.benchmark.to.toISOString()}.`,
    '',
    `**${c.summary.degraded} degraded** · ${c.summary.improved} improved · ${c.summary.stable} stable · ${c.summary.insufficient_data} insufficient data — a change needs p < ${c.alpha} and more than ±${formatPercent(c.stableBand, false)} of the baseline mean.`,
  ];
  if (changed.length > 0) lines.push('', ...markdownTable(changed));
  if (rest.length > 0)
    lines.push(
      '',
      `<details><summary>${c.summary.stable} stable, ${c.summary.insufficient_data} insufficient data</summary>`,
      '',
      ...markdownTable(rest),
      '',
      '</details>',
    );
  return lines.join('\n');
}

/** One line per benchmark. */
export function benchmarkListText(benchmarks: readonly BenchmarkInfo[]): string {
  if (benchmarks.length === 0) return 'no benchmarks';
  return formatTable(
    ['name', 'created', 'from', 'to', 'series', 'services', 'version'],
    benchmarks.map((b) => ({
      name: b.name,
      created: b.createdAt.toISOString(),
      from: b.from.toISOString(),
      to: b.to.toISOString(),
      series: b.seriesCount,
      services: b.resources.map((r) => r.service).join(', '),
      version: b.version ?? '',
    })),
  );
}

/** A benchmark's window, resources and per-series statistics. */
export function benchmarkText(b: Benchmark): string {
  const head = [
    `benchmark "${b.name}", created ${b.createdAt.toISOString()}`,
    `window ${b.from.toISOString()} → ${b.to.toISOString()} in ${b.stepSeconds} s buckets; ${b.seriesCount} series` +
      (b.version === null ? '' : `; service.version ${b.version}`) +
      (b.metrics.length === 0 ? '' : `; metrics ${b.metrics.join(', ')}`),
    ...b.resources.map(
      (r) => `  ${r.service}: versions ${r.versions.join(', ') || '–'}; hosts ${r.hosts.join(', ') || '–'}`,
    ),
  ];
  const rows = b.series.map((s) => {
    const v = (x: number | null) => formatValue(x, s.unit, s.statistic);
    return {
      service: s.service ?? '',
      series: seriesName(s),
      n: s.stats.n,
      mean: v(s.stats.mean),
      stddev: v(s.stats.stddev),
      min: v(s.stats.min),
      p50: v(s.stats.p50),
      p90: v(s.stats.p90),
      p95: v(s.stats.p95),
      p99: v(s.stats.p99),
      max: v(s.stats.max),
      window: v(s.overall),
    };
  });
  const columns = [
    'service',
    'series',
    'n',
    'mean',
    'stddev',
    'min',
    'p50',
    'p90',
    'p95',
    'p99',
    'max',
    'window',
  ];
  return [...head, '', formatTable(columns, rows)].join('\n');
}
