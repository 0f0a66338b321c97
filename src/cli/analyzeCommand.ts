import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { type ChangePoint, detectChangePoints } from '../analysis/detectChangePoints.js';
import { readSeriesFile } from '../analysis/readSeriesFile.js';
import { ConfigError } from '../errors.js';

interface AnalyzeFlags {
  column?: string;
  direction: 'up' | 'down' | 'both';
  json?: boolean;
}

/** `perfwatch analyze FILE`: change points of a series in a CSV or JSON file, offline. */
export function registerAnalyzeCommand(program: Command): void {
  program
    .command('analyze')
    .description('find change points in a series from a CSV (header row) or a JSON array of numbers')
    .argument('<file>', 'CSV or JSON file')
    .option('--column <name>', 'CSV column to analyse (default: the first numeric column that is not a time)')
    .addOption(
      new Option('--direction <direction>', 'report increases, decreases or both')
        .choices(['up', 'down', 'both'])
        .default('both'),
    )
    .option('--json', 'print {"changePoints":[…]} as JSON')
    .action(async (file: string, flags: AnalyzeFlags) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        throw new ConfigError('FILE', `cannot read ${file}: ${(error as Error).message}`);
      }
      const series = readSeriesFile(text, flags.column);
      const changePoints = detectChangePoints(series.values, { direction: flags.direction });
      const timed = changePoints.map((point) => ({
        ...point,
        ...(series.times ? { time: series.times[point.index] } : {}),
      }));
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ column: series.column, points: series.values.length, changePoints: timed }, jsonNumbers, 2)}\n`,
        );
        return;
      }
      process.stdout.write(
        `${series.column}: ${series.values.length} points, ${changePoints.length} change point(s)\n`,
      );
      for (const point of timed) process.stdout.write(`${describe(point)}\n`);
    });
}

/** NaN and ±Infinity are not JSON: they print as null. */
function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

function describe(point: ChangePoint & { time?: string | undefined }): string {
  const at = point.time ? `${point.index} (${point.time})` : String(point.index);
  const fmt = (n: number) => Number(n.toPrecision(4)).toString();
  const relative = Number.isNaN(point.relativeChange)
    ? ''
    : ` (${point.relativeChange >= 0 ? '+' : ''}${(point.relativeChange * 100).toFixed(1)} % of the level before)`;
  const interval = Number.isNaN(point.shiftLow)
    ? ''
    : ` [95 % CI ${fmt(point.shiftLow)}, ${fmt(point.shiftHigh)}]`;
  const p = point.pValue < 1e-300 ? '< 1e-300' : `= ${point.pValue.toExponential(1)}`;
  return (
    `  index ${at}: ${point.direction}, median ${fmt(point.before.median)} → ${fmt(point.after.median)}, ` +
    `mean ${fmt(point.before.mean)} → ${fmt(point.after.mean)}; shift ${fmt(point.shift)}${interval}${relative}, ` +
    `p ${p} (${point.test}), ${point.before.n} points before, ${point.after.n} after`
  );
}
