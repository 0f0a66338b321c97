/**
 * Standalone: perfwatch monitoring a plain Node.js program with one call — host and runtime
 * metrics, a custom pull-style collector, a few collections, a query over the history, a named
 * benchmark compared with the collections after it, a Parquet export and a retention cleanup. (The
 * original system's standalone demo.)
 *
 *   npx tsx examples/standalone.ts
 *   PERFWATCH_DB_PATH=/tmp/s.duckdb EXAMPLE_EXPORT_DIR=/tmp/s-export EXAMPLE_COLLECTIONS=3 npx tsx examples/standalone.ts
 *
 * The same steps from the shell, on the stopped file:
 *   perfwatch query app.jobs.pending --db FILE --since 10m --agg max
 *   perfwatch benchmark create standalone-baseline --db FILE --duration 10m
 *   perfwatch benchmark compare standalone-baseline --db FILE --window 10m
 *   perfwatch export --out DIR --db FILE
 *   perfwatch cleanup --retention-days 30 --db FILE
 */
// In your project: `from 'perfwatch'`.
import { compareBenchmark, createBenchmark, queryTimeSeries, startPerfWatch } from '../src/index.js';

const dbPath = process.env.PERFWATCH_DB_PATH ?? './data/standalone-example.duckdb';
const exportDir = process.env.EXAMPLE_EXPORT_DIR ?? './data/standalone-export';
const collections = Number(process.env.EXAMPLE_COLLECTIONS ?? 5);

const pw = await startPerfWatch({
  serviceName: 'standalone-example',
  dbPath,
  // This program flushes explicitly below; the periodic schedule would only add collections.
  collectionIntervalMillis: 60_000,
  prometheusPort: 0,
  defaultAlertRules: false,
  regressionIntervalMinutes: 0,
  logLevel: 'warn',
});
console.log(`history: ${pw.store.path}; scrape endpoint: ${pw.prometheusUrl}`);

// A job queue stands in for whatever the application wants watched that no instrument records.
const queue = { pending: 0 };
const removeCollector = pw.registerCollector('jobs', {
  metrics: { 'app.jobs.pending': { unit: '{job}', description: 'jobs waiting to run' } },
  collect: () => [{ metric: 'app.jobs.pending', value: queue.pending, attributes: { queue: 'emails' } }],
});

for (let i = 1; i <= collections; i++) {
  queue.pending = i * 10;
  // One collection, written to DuckDB before this resolves: the collector is called once here.
  await pw.forceFlush();
}

const to = new Date(Date.now() + 1_000);
const answer = await queryTimeSeries(pw.store, {
  metric: 'app.jobs.pending',
  from: new Date(to.getTime() - 10 * 60_000),
  to,
  stepSeconds: 600,
  aggregation: 'max',
});
const peak = answer.series[0]?.values.find((value) => value !== null);
console.log(`collections written: ${collections}; app.jobs.pending max over 10 min: ${peak}`);

const counts = await pw.store.query(
  `SELECT MetricName AS metric, count(*)::INTEGER AS points FROM otel_metrics_gauge
   WHERE MetricName IN ('app.jobs.pending', 'system.cpu.utilization', 'nodejs.eventloop.utilization')
   GROUP BY ALL ORDER BY metric`,
);
console.table(counts);

// A benchmark stores the window's statistics per series in DuckDB (it survives restarts); a
// comparison says per series whether it improved, degraded or stayed stable. A few seconds of
// collections are too few points for a verdict: this run mostly reports insufficient_data, an
// hour of them would not.
const baseline = await createBenchmark(pw.store, {
  name: 'standalone-baseline',
  from: new Date(Date.now() - 60_000),
  to: new Date(Date.now() + 1),
  replace: true,
});
const benchmarkEnd = Date.now() + 1;
for (let i = 1; i <= collections; i++) {
  queue.pending = 100 + i * 10;
  await pw.forceFlush();
}
const comparison = await compareBenchmark(pw.store, baseline.name, {
  from: new Date(benchmarkEnd),
  to: new Date(Date.now() + 1),
});
const verdicts = Object.entries(comparison.summary)
  .map(([verdict, count]) => `${verdict} ${count}`)
  .join(', ');
console.log(
  `benchmark ${baseline.name}: ${baseline.series.length} series; compared with what followed: ${verdicts}`,
);
const jobs = comparison.series.find((s) => s.metric === 'app.jobs.pending');
console.log(
  `app.jobs.pending: mean ${jobs?.baseline?.mean} → ${jobs?.current?.mean} (${jobs?.changePercent.toFixed(0)} %), ${jobs?.verdict}`,
);

// Parquet is the long-term history and the hand-off to other engines (hive-partitioned by day).
const exported = await pw.store.exportParquet({ outDir: exportDir });
console.log(
  `parquet export: ${exported.files} files, ${exported.rows} rows, days ${exported.days.join(', ')} in ${exportDir}`,
);

// Retention as the hourly task applies it: everything younger than the given days stays.
const cleaned = await pw.cleanup(1);
console.log(
  `cleanup (keep 1 day): ${cleaned.deletedPoints} points and ${cleaned.deletedSeries} series deleted`,
);

removeCollector();
await pw.shutdown();
console.log('done');
