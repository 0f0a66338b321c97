import type { QueryRunner } from '../store/QueryRunner.js';
import { readSeriesPages, type SeriesPagesQuery } from './readSeriesPages.js';

/** The derived HTTP error rate is computed from these histograms' counts by status. */
export const REQUEST_DURATION_METRICS: ReadonlySet<string> = new Set(['http.server.request.duration']);

/** One service's HTTP error rate per bucket (null: no requests in the bucket). */
export interface ErrorRateSeries {
  readonly service: string | null;
  readonly times: readonly Date[];
  readonly values: (number | null)[];
}

const STATUS = 'http.response.status_code';

/**
 * The HTTP error rate per service: requests with a 5xx status or an `error.type`, over all
 * requests, from the request-duration histogram's count increases per bucket. The regression
 * processor and benchmarks derive it alike.
 */
export async function readErrorRates(
  db: QueryRunner,
  query: Omit<SeriesPagesQuery, 'aggregation' | 'groupBy'>,
): Promise<ErrorRateSeries[]> {
  const perService = new Map<
    string | null,
    { errors: Float64Array; total: Float64Array; times: readonly Date[] }
  >();
  await readSeriesPages(
    db,
    { ...query, aggregation: 'increase', groupBy: ['service.name', STATUS, 'error.type'] },
    (s) => {
      const service = s.labels['service.name'] ?? null;
      const status = Number(s.labels[STATUS] ?? Number.NaN);
      const isError = s.labels['error.type'] != null || (status >= 500 && status < 600);
      let sums = perService.get(service);
      if (sums === undefined) {
        sums = {
          errors: new Float64Array(s.values.length),
          total: new Float64Array(s.values.length),
          times: s.times,
        };
        perService.set(service, sums);
      }
      for (const [i, value] of s.values.entries()) {
        if (value === null) continue;
        sums.total[i]! += value;
        if (isError) sums.errors[i]! += value;
      }
    },
  );
  return [...perService].map(([service, sums]) => ({
    service,
    times: sums.times,
    values: Array.from(sums.total, (total, i) => (total > 0 ? sums.errors[i]! / total : null)),
  }));
}
