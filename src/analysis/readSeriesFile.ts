import { AnalysisInputError } from './detectChangePoints.js';

export interface SeriesFile {
  /** The column analysed (`value` for a JSON array). */
  readonly column: string;
  /** Numbers with null for gaps (empty cells, NaN, null). */
  readonly values: (number | null)[];
  /** Times of the rows, when the file has a time column. */
  readonly times?: readonly string[];
}

/** Names of time columns: time, timestamp_ms, created_at, epoch, date, ts, … (not durations such as latency_ms). */
const TIME_COLUMN =
  /^(t|ts|time|timestamp|date|datetime|epoch)$|(^|_)(timestamp|date|datetime|epoch)(_|$)|^time_|_at$/i;
/** Share of a column's non-empty cells that must be numbers for it to be picked by default. */
const NUMERIC_SHARE = 0.8;

/**
 * Reads a series for offline analysis: a JSON array of numbers (null for gaps), or a CSV with a
 * header row. The CSV column is `column` when given, else the first numeric column that is not a
 * time column. Rows must be in time order when a time column exists.
 */
export function readSeriesFile(text: string, column?: string): SeriesFile {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return readJson(trimmed);
  return readCsv(trimmed, column);
}

function readJson(text: string): SeriesFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AnalysisInputError(`the file looks like JSON but does not parse: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed))
    throw new AnalysisInputError('a JSON file must be an array of numbers (null for gaps)');
  const values = parsed.map((value, i) => {
    if (value === null) return null;
    if (typeof value !== 'number')
      throw new AnalysisInputError(`JSON entry ${i} is not a number or null: ${JSON.stringify(value)}`);
    return value;
  });
  return { column: 'value', values };
}

function readCsv(text: string, column: string | undefined): SeriesFile {
  const rows = parseCsv(text);
  if (rows.length < 2) throw new AnalysisInputError('the CSV needs a header row and at least one data row');
  const header = rows[0]!.map((name) => name.trim());
  // File line of each data row (header is line 1), kept through the removal of blank rows.
  const data = rows
    .slice(1)
    .map((cells, i) => ({ cells, line: i + 2 }))
    .filter((row) => row.cells.some((cell) => cell.trim() !== ''));
  const timeIndex = header.findIndex((name) => TIME_COLUMN.test(name));
  let index: number;
  if (column !== undefined) {
    index = header.indexOf(column);
    if (index < 0)
      throw new AnalysisInputError(
        `--column: no column named "${column}"; the columns are ${header.join(', ')}`,
      );
  } else {
    const candidate = (name: string, i: number) => i !== timeIndex && !TIME_COLUMN.test(name);
    index = header.findIndex((name, i) => candidate(name, i) && mostlyNumeric(data, i));
    // Else the first column with any number, so its bad cells are reported by line.
    if (index < 0) {
      index = header.findIndex(
        (name, i) => candidate(name, i) && data.some((row) => parseNumber(row.cells[i]) !== null),
      );
    }
    if (index < 0)
      throw new AnalysisInputError(`the CSV has no numeric column (columns: ${header.join(', ')})`);
  }
  const values = data.map((row) => {
    const cell = row.cells[index];
    const value = parseNumber(cell);
    if (value === null && cell !== undefined && !isGap(cell)) {
      throw new AnalysisInputError(
        `line ${row.line}, column "${header[index]}": ${JSON.stringify(cell)} is not a number`,
      );
    }
    return value;
  });
  if (timeIndex < 0 || timeIndex === index) return { column: header[index]!, values };
  const times = data.map((row) => (row.cells[timeIndex] ?? '').trim());
  let latest = Number.NEGATIVE_INFINITY;
  let latestLine = 0;
  for (const [r, text] of times.entries()) {
    const instant = toInstant(text);
    if (Number.isNaN(instant)) {
      throw new AnalysisInputError(
        `line ${data[r]!.line}, column "${header[timeIndex]}": ${JSON.stringify(text)} is not a time`,
      );
    }
    if (instant < latest) {
      throw new AnalysisInputError(
        `rows are not in time order: line ${data[r]!.line} (${text}) is earlier than line ${latestLine}; sort the file by "${header[timeIndex]}"`,
      );
    }
    latest = instant;
    latestLine = data[r]!.line;
  }
  return { column: header[index]!, values, times };
}

function mostlyNumeric(rows: readonly { cells: string[] }[], column: number): boolean {
  const filled = rows.map((row) => row.cells[column]).filter((cell) => cell !== undefined && !isGap(cell));
  if (filled.length === 0) return false;
  return filled.filter((cell) => parseNumber(cell) !== null).length >= filled.length * NUMERIC_SHARE;
}

function isGap(cell: string): boolean {
  return /^\s*(|nan|null|na|n\/a|[+-]?inf(inity)?)\s*$/i.test(cell);
}

/** Decimal numbers (with exponent); ±Infinity counts as a gap, as the detector treats it. */
function parseNumber(cell: string | undefined): number | null {
  if (cell === undefined || isGap(cell)) return null;
  const text = cell.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** Epoch numbers or ISO text to a comparable number (NaN for anything else, which never "decreases"). */
function toInstant(text: string): number {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? Number.NaN : parsed;
}

/** RFC 4180 CSV: quoted fields with "" escapes and embedded separators or newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += char;
  }
  row.push(cell);
  rows.push(row);
  return rows;
}
