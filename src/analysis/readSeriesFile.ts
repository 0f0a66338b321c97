import { AnalysisInputError } from './detectChangePoints.js';

export interface SeriesFile {
  /** The column analysed (`value` for a JSON array). */
  readonly column: string;
  /** Numbers with null for gaps (empty cells, NaN, null). */
  readonly values: (number | null)[];
  /** Times of the rows, when the file has a time column. */
  readonly times?: readonly string[];
}

const TIME_COLUMN = /^(time|timestamp|date|datetime|ts|t)$/i;

/**
 * Reads a series for offline analysis: a JSON array of numbers (null for gaps), or a CSV with a
 * header row. The CSV column is `column` when given, else the first numeric column that is not a
 * time column. Rows must be in time order when a time column exists.
 */
export function readSeriesFile(text: string, column?: string): SeriesFile {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return readJson(trimmed);
  return readCsv(trimmed, column);
}

function readJson(text: string): SeriesFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AnalysisInputError(`the file looks like JSON but does not parse: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new AnalysisInputError('a JSON file must be an array of numbers');
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
  const data = rows.slice(1).filter((row) => row.some((cell) => cell.trim() !== ''));
  const timeIndex = header.findIndex((name) => TIME_COLUMN.test(name));
  let index: number;
  if (column !== undefined) {
    index = header.indexOf(column);
    if (index < 0)
      throw new AnalysisInputError(
        `--column: no column named "${column}"; the columns are ${header.join(', ')}`,
      );
  } else {
    index = header.findIndex((_, i) => i !== timeIndex && data.some((row) => parseNumber(row[i]) !== null));
    if (index < 0)
      throw new AnalysisInputError(`the CSV has no numeric column (columns: ${header.join(', ')})`);
  }
  const values = data.map((row, r) => {
    const cell = row[index];
    const value = parseNumber(cell);
    if (value === null && cell !== undefined && !isGap(cell)) {
      throw new AnalysisInputError(
        `row ${r + 2}, column "${header[index]}": ${JSON.stringify(cell)} is not a number`,
      );
    }
    return value;
  });
  if (timeIndex < 0 || timeIndex === index) return { column: header[index]!, values };
  const times = data.map((row) => (row[timeIndex] ?? '').trim());
  const instants = times.map(toInstant);
  for (let r = 1; r < instants.length; r++) {
    if (instants[r]! < instants[r - 1]!) {
      throw new AnalysisInputError(
        `rows are not in time order: row ${r + 2} (${times[r]}) is earlier than row ${r + 1} (${times[r - 1]}); sort the file by "${header[timeIndex]}"`,
      );
    }
  }
  return { column: header[index]!, values, times };
}

function isGap(cell: string): boolean {
  return /^\s*(|nan|null|na|n\/a)\s*$/i.test(cell);
}

function parseNumber(cell: string | undefined): number | null {
  if (cell === undefined || isGap(cell)) return null;
  const value = Number(cell.trim());
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
