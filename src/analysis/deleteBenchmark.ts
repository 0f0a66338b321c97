import { deleteBenchmarkStatements, requireBenchmark } from '../store/benchmarkRecords.js';
import type { MetricStore } from '../store/MetricStore.js';

/** Deletes the benchmark called `name` and its series; a BenchmarkError (not_found) when there is none. */
export async function deleteBenchmark(store: MetricStore, name: string): Promise<void> {
  await requireBenchmark(store, name);
  await store.execute(deleteBenchmarkStatements(name));
}
