import type { MetricOverview } from '../store/listAnalysedMetrics.js';
import type { Aggregation } from '../store/queryTimeSeries.js';

/** A statistic the analysis reads for a kind of metric, and the query aggregation that gives it. */
export interface AnalysedStatistic {
  /** value (gauges, non-monotonic sums), rate (counters), p50/p95/p99 (histograms). */
  readonly statistic: string;
  readonly aggregation: Aggregation;
}

/** What is compared for each kind of metric: values, rates of counters (never raw totals), latency quantiles. */
export function statisticsOf(metric: Pick<MetricOverview, 'kind' | 'monotonic'>): AnalysedStatistic[] {
  if (metric.kind === 'gauge' || (metric.kind === 'sum' && metric.monotonic !== true))
    return [{ statistic: 'value', aggregation: 'avg' }];
  if (metric.kind === 'sum') return [{ statistic: 'rate', aggregation: 'rate' }];
  if (metric.kind === 'histogram')
    return [
      { statistic: 'p50', aggregation: 'p50' },
      { statistic: 'p95', aggregation: 'p95' },
      { statistic: 'p99', aggregation: 'p99' },
    ];
  return []; // exponential histograms and summaries: not readable through the query layer yet
}
