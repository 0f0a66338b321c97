import { ExportMetricsServiceRequest } from '../src/receiver/otlpMetricsSchema.js';

const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const START_NANOS = 1_790_000_000n * 1_000_000_000n;

/**
 * One protobuf ExportMetricsServiceRequest of the receiver benchmarks: client `client`'s request
 * of collection `round`, a tenth histograms, the rest half gauges, half monotonic counters, one
 * series per point index.
 */
export function receiverRequestBody(client: number, round: number, pointsPerRequest: number): Uint8Array {
  const time = String(timeOfRound(round));
  const start = String(START_NANOS);
  const histograms = Math.floor(pointsPerRequest / 10);
  const numbers = pointsPerRequest - histograms;
  const attrs = (i: number) => [{ key: 'shard', value: { stringValue: String(i) } }];
  const numberPoints = (n: number, offset: number) =>
    Array.from({ length: n }, (_, i) => ({
      attributes: attrs(i),
      startTimeUnixNano: start,
      timeUnixNano: time,
      asDouble: round * 10 + ((i + offset) % 17),
    }));
  return ExportMetricsServiceRequest.encode(
    ExportMetricsServiceRequest.fromObject({
      resourceMetrics: [
        {
          resource: {
            attributes: [
              { key: 'service.name', value: { stringValue: 'bench' } },
              { key: 'service.instance.id', value: { stringValue: `client-${client}` } },
            ],
          },
          scopeMetrics: [
            {
              scope: { name: 'bench', version: '1.0.0' },
              metrics: [
                {
                  name: 'bench.gauge',
                  unit: 'ms',
                  gauge: { dataPoints: numberPoints(Math.floor(numbers / 2), 0) },
                },
                {
                  name: 'bench.counter',
                  sum: {
                    aggregationTemporality: 2,
                    isMonotonic: true,
                    dataPoints: numberPoints(numbers - Math.floor(numbers / 2), 3),
                  },
                },
                {
                  name: 'http.server.request.duration',
                  unit: 's',
                  histogram: {
                    aggregationTemporality: 2,
                    dataPoints: Array.from({ length: histograms }, (_, i) => {
                      const counts = [...BOUNDS.map((_, b) => round * ((b + i) % 5)), round];
                      return {
                        attributes: attrs(i),
                        startTimeUnixNano: start,
                        timeUnixNano: time,
                        count: counts.reduce((a, b) => a + b, 0),
                        sum: round * 1.5,
                        bucketCounts: counts,
                        explicitBounds: BOUNDS,
                      };
                    }),
                  },
                },
              ],
            },
          ],
        },
      ],
    }),
  ).finish();
}

/** The points' time (ns) of collection `round`, 10 s apart. */
function timeOfRound(round: number): bigint {
  return START_NANOS + BigInt(round) * 10_000_000_000n;
}

/**
 * `body` (collection `fromRound`) moved to collection `toRound`: every point's time, a fixed64
 * written little-endian, replaced. Pre-encoded bodies can so be sent again as new points; sent as
 * they are, they would repeat points stored already, which the store drops (a retry), and the
 * benchmark would measure that path instead of new points.
 */
export function atRound(body: Uint8Array, fromRound: number, toRound: number): Uint8Array {
  const from = Buffer.alloc(8);
  from.writeBigUInt64LE(timeOfRound(fromRound));
  const to = Buffer.alloc(8);
  to.writeBigUInt64LE(timeOfRound(toRound));
  const moved = Buffer.from(body);
  for (let at = moved.indexOf(from); at >= 0; at = moved.indexOf(from, at + 8)) to.copy(moved, at);
  return moved;
}
