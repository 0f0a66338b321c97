import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricStore } from '../../src/store/MetricStore.js';
import { tempDir } from '../helpers/tempDir.js';

/**
 * queryNumbers reads fixed-width columns from the vectors' memory: every numeric type must give
 * what the row path gives, NULL as NaN, across the 64-row words of the validity mask and across
 * chunks (2,048 rows each).
 */
describe('queryNumbers', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: MetricStore;

  beforeAll(async () => {
    dir = await tempDir();
    store = await MetricStore.open(dir.file('history.duckdb'));
  });
  afterAll(async () => {
    await store.close();
    await dir.cleanup();
  });

  const columns = {
    tiny: 'CAST(i % 100 - 50 AS TINYINT)',
    small: 'CAST(i - 2500 AS SMALLINT)',
    int: 'CAST(i * 3 - 7000 AS INTEGER)',
    big: 'CAST(i * 1000003 - 123456789 AS BIGINT)',
    utiny: 'CAST(i % 200 AS UTINYINT)',
    usmall: 'CAST(i AS USMALLINT)',
    uint: 'CAST(i * 70001 AS UINTEGER)',
    ubig: 'CAST(i * 1000000007 AS UBIGINT)',
    float: 'CAST(i / 8 AS FLOAT)',
    double: 'i / 3 - 100.25',
    huge: 'CAST(i AS HUGEINT) * 1000',
    decimal: 'CAST(i / 4 AS DECIMAL(10, 2))',
  };
  // NULL in scattered rows (some words all-valid, some not), and nowhere in one column.
  const nullable = (expression: string) =>
    `CASE WHEN i % 7 = 3 OR i BETWEEN 130 AND 200 THEN NULL ELSE ${expression} END`;
  const select = (wrap: (expression: string) => string) =>
    `SELECT ${Object.entries(columns)
      .map(([name, expression]) => `${wrap(expression)} AS ${name}`)
      .join(', ')}, i AS plain FROM range(5000) t(i) ORDER BY i`;

  it.each([
    ['with NULLs', nullable],
    ['without NULLs', (expression: string) => expression],
  ])('gives every numeric type as the row path does (%s)', async (_, wrap) => {
    const sql = select(wrap);
    const numbers = await store.queryNumbers(sql);
    const rows = await store.query(sql);
    expect(Object.keys(numbers)).toEqual([...Object.keys(columns), 'plain']);
    for (const name of Object.keys(numbers)) {
      const expected = rows.map((row) => (row[name] === null ? Number.NaN : Number(row[name])));
      expect(Array.from(numbers[name]!), name).toEqual(expected);
    }
  });

  it('gives empty columns for an empty result', async () => {
    const numbers = await store.queryNumbers('SELECT 1::INTEGER AS a, 2.5 AS b WHERE false');
    expect(numbers.a).toEqual(new Float64Array(0));
    expect(numbers.b).toEqual(new Float64Array(0));
  });
});
