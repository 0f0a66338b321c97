import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';

const resource = resourceFromAttributes({
  'service.name': 'bench',
  'host.name': 'bench-host',
  'service.version': '1.0.0',
});
const START: [number, number] = [1_790_000_000, 0];
const descriptor = (name: string, unit: string) => ({ name, unit, description: '', valueType: 1 });

/** One collection of `series` numeric points: half gauges (2-decimal random walk), half counters. */
export function numberCollection(series: number, collection: number, intervalSeconds = 30): ResourceMetrics {
  const endTime: [number, number] = [START[0] + collection * intervalSeconds, 0];
  const half = Math.floor(series / 2);
  const gauges: MetricData = {
    descriptor: descriptor('bench.gauge', 'ms'),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: Array.from({ length: half }, (_, i) => ({
      startTime: START,
      endTime,
      attributes: { shard: String(i) },
      value:
        Math.round((100 + 20 * Math.sin((collection + i) / 7) + ((i * 31 + collection * 17) % 13)) * 100) /
        100,
    })),
  };
  const counters: MetricData = {
    descriptor: descriptor('bench.counter', '{request}'),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: Array.from({ length: series - half }, (_, i) => ({
      startTime: START,
      endTime,
      attributes: { shard: String(i) },
      value: collection * (10 + (i % 50)) + ((i * 7 + collection) % 5),
    })),
  };
  return { resource, scopeMetrics: [{ scope: { name: 'bench' }, metrics: [gauges, counters] }] };
}

/** One collection of `series` explicit-bucket histogram points with the HTTP semconv buckets. */
export function histogramCollection(series: number, collection: number): ResourceMetrics {
  const endTime: [number, number] = [START[0] + collection * 30, 0];
  const boundaries = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
  const histograms: MetricData = {
    descriptor: descriptor('http.server.request.duration', 's'),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: Array.from({ length: series }, (_, i) => {
      const counts = boundaries.map((_, b) => collection * ((b * 3 + i) % 11)).concat([collection]);
      const count = counts.reduce((a, b) => a + b, 0);
      return {
        startTime: START,
        endTime,
        attributes: { 'http.route': `/r/${i}`, 'http.response.status_code': 200 },
        value: { buckets: { boundaries, counts }, count, sum: count * 0.12, min: 0.001, max: 9.5 },
      };
    }),
  };
  return { resource, scopeMetrics: [{ scope: { name: 'bench' }, metrics: [histograms] }] };
}
