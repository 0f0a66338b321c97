import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { MetricStore } from '../src/store/MetricStore.js';

const resource = resourceFromAttributes({
  'service.name': 'bench-service',
  'service.version': '1.0.0',
  'host.name': 'bench-host',
});
const BOUNDARIES = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const descriptor = (name: string, unit: string) => ({ name, unit, description: '', valueType: 1 });
type Point = { attributes: Record<string, string | number>; value: number };

function gauge(name: string, unit: string, points: Point[], times: number[]): MetricData {
  return {
    descriptor: descriptor(name, unit),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: times.flatMap((time, k) =>
      points.map((point) => ({
        startTime: [times[0]!, 0] as [number, number],
        endTime: [time, 0] as [number, number],
        attributes: point.attributes,
        value: point.value * (1 + 0.1 * Math.sin((time + k) / 600)),
      })),
    ),
  };
}

/**
 * One write of `times` (epoch seconds) for every metric the dashboard draws, shaped as
 * host-metrics, runtime-node and instrumentation-http record them: 2 CPUs × 4 states, memory,
 * load, network, process CPU and memory, event-loop delay, and 3 HTTP histogram series
 * (cumulative, so quantiles come from increases).
 */
export function dashboardBatch(
  times: number[],
  startSeconds: number,
  intervalSeconds: number,
): ResourceMetrics {
  const cpu: Point[] = [];
  for (const cpuNumber of [0, 1]) {
    for (const [state, share] of [
      ['idle', 0.7],
      ['user', 0.2],
      ['system', 0.08],
      ['iowait', 0.02],
    ] as const)
      cpu.push({
        attributes: { 'system.cpu.logical_number': cpuNumber, 'system.cpu.state': state },
        value: share,
      });
  }
  const metrics: MetricData[] = [
    gauge('system.cpu.utilization', '1', cpu, times),
    gauge(
      'system.memory.utilization',
      '1',
      [
        { attributes: { 'system.memory.state': 'used' }, value: 0.45 },
        { attributes: { 'system.memory.state': 'free' }, value: 0.55 },
      ],
      times,
    ),
    ...['1m', '5m', '15m'].map((window) =>
      gauge(`system.cpu.load_average.${window}`, '{thread}', [{ attributes: {}, value: 1.2 }], times),
    ),
    gauge(
      'process.cpu.utilization',
      '1',
      [
        { attributes: { 'process.cpu.state': 'user' }, value: 0.05 },
        { attributes: { 'process.cpu.state': 'system' }, value: 0.01 },
      ],
      times,
    ),
    gauge('process.memory.usage', 'By', [{ attributes: {}, value: 120e6 }], times),
    gauge('nodejs.eventloop.delay.p50', 's', [{ attributes: {}, value: 0.01 }], times),
    gauge('nodejs.eventloop.delay.p99', 's', [{ attributes: {}, value: 0.02 }], times),
    {
      descriptor: descriptor('system.network.io', 'By'),
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: times.flatMap((time) =>
        (['receive', 'transmit'] as const).map((direction) => ({
          startTime: [startSeconds, 0] as [number, number],
          endTime: [time, 0] as [number, number],
          attributes: { 'network.io.direction': direction },
          value: ((time - startSeconds) / intervalSeconds) * (direction === 'receive' ? 50_000 : 20_000),
        })),
      ),
    },
    {
      descriptor: descriptor('http.server.request.duration', 's'),
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: times.flatMap((time) =>
        [
          { 'http.route': '/pay', 'http.response.status_code': 200 },
          { 'http.route': '/cart', 'http.response.status_code': 200 },
          { 'http.route': '/pay', 'http.response.status_code': 500 },
        ].map((attributes, i) => {
          const n = Math.round((time - startSeconds) / intervalSeconds) + 1;
          const counts = BOUNDARIES.map((_, b) => n * ((b * 3 + i) % 7)).concat([0]);
          const count = counts.reduce((a, b) => a + b, 0);
          return {
            startTime: [startSeconds, 0] as [number, number],
            endTime: [time, 0] as [number, number],
            attributes,
            value: {
              buckets: { boundaries: BOUNDARIES, counts },
              count,
              sum: count * 0.12,
              min: 0.001,
              max: 9,
            },
          };
        }),
      ),
    },
  ];
  return { resource, scopeMetrics: [{ scope: { name: 'bench' }, metrics }] };
}

/**
 * `hours` of the dashboard's metrics at one collection per `intervalSeconds`, ending at
 * `endSeconds`, then rolled up (as the hourly maintenance does), so long ranges read rollups.
 * Returns the number of points written.
 */
export async function writeDashboardHistory(
  store: MetricStore,
  hours: number,
  intervalSeconds: number,
  endSeconds: number,
): Promise<number> {
  const collections = Math.floor((hours * 3600) / intervalSeconds);
  const start = Math.floor(endSeconds / intervalSeconds) * intervalSeconds - collections * intervalSeconds;
  let points = 0;
  const perWrite = 60;
  for (let c = 0; c < collections; c += perWrite) {
    const times: number[] = [];
    for (let k = c; k < Math.min(collections, c + perWrite); k++)
      times.push(start + (k + 1) * intervalSeconds);
    points += (await store.writeCollection(dashboardBatch(times, start, intervalSeconds))).points;
  }
  await store.rollUp(endSeconds * 1000);
  await store.checkpoint();
  return points;
}
