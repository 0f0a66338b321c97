import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { MetricStore } from '../../src/store/MetricStore.js';

/** Fixture points at exact times, written through the real store like an SDK collection. */
export interface FixturePoint {
  metric: string;
  kind: 'gauge' | 'counter' | 'updown' | 'histogram';
  attributes?: Attributes;
  /** Seconds since the epoch. */
  time: number;
  /** Seconds since the epoch; defaults to 0 (one process lifetime). */
  startTime?: number;
  value?: number;
  histogram?: { bounds: number[]; counts: number[]; sum: number };
  unit?: string;
  /** Resource attributes. @default service.name=fixture, host.name=fixture-host */
  resource?: Attributes;
}

const DEFAULT_RESOURCE: Attributes = { 'service.name': 'fixture', 'host.name': 'fixture-host' };

/** One ResourceMetrics per distinct (time, resource), in time order. */
export function fixtureCollections(points: readonly FixturePoint[]): ResourceMetrics[] {
  const groups = new Map<string, { time: number; resource: Attributes; points: FixturePoint[] }>();
  for (const point of points) {
    const attributes = point.resource ?? DEFAULT_RESOURCE;
    const key = JSON.stringify([point.time, attributes]);
    const group = groups.get(key) ?? { time: point.time, resource: attributes, points: [] };
    group.points.push(point);
    groups.set(key, group);
  }
  const ordered = [...groups.values()].sort((a, b) => a.time - b.time);
  return ordered.map(({ resource: attributes, points: atTime }) => {
    const resource = resourceFromAttributes(attributes);
    const byMetric = new Map<string, FixturePoint[]>();
    for (const point of atTime) {
      byMetric.set(point.metric, [...(byMetric.get(point.metric) ?? []), point]);
    }
    const metrics: MetricData[] = [...byMetric.entries()].map(([name, group]) => {
      const first = group[0]!;
      const descriptor = { name, unit: first.unit ?? '', description: '', valueType: 1 };
      const hr = (seconds: number): [number, number] => [
        Math.floor(seconds),
        Math.round((seconds % 1) * 1e9),
      ];
      const base = (p: FixturePoint) => ({
        startTime: hr(p.startTime ?? 0),
        endTime: hr(p.time),
        attributes: p.attributes ?? {},
      });
      if (first.kind === 'histogram') {
        return {
          descriptor,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: group.map((p) => {
            const h = p.histogram!;
            const count = h.counts.reduce((a, b) => a + b, 0);
            return {
              ...base(p),
              value: { buckets: { boundaries: h.bounds, counts: h.counts }, count, sum: h.sum },
            };
          }),
        };
      }
      if (first.kind === 'gauge') {
        return {
          descriptor,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.GAUGE,
          dataPoints: group.map((p) => ({ ...base(p), value: p.value! })),
        };
      }
      return {
        descriptor,
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.SUM,
        isMonotonic: first.kind === 'counter',
        dataPoints: group.map((p) => ({ ...base(p), value: p.value! })),
      };
    });
    return { resource, scopeMetrics: [{ scope: { name: 'fixture' }, metrics }] };
  });
}

/**
 * Writes fixture points into a history file through the real store and closes it; `before`
 * runs on the open store first (e.g. a retention run).
 */
export async function writeFixtureFile(
  path: string,
  points: readonly FixturePoint[],
  before?: (store: MetricStore) => Promise<unknown>,
): Promise<void> {
  const store = await MetricStore.open(path);
  try {
    for (const collection of fixtureCollections(points)) await store.writeCollection(collection);
    await before?.(store);
  } finally {
    await store.close();
  }
}
