import { AGGREGATIONS, type Aggregation } from '../../src/store/queryTimeSeries.js';

/** Every aggregation of gauge samples (counters add rate and increase). */
export const SAMPLE_AGGREGATIONS: readonly Aggregation[] = AGGREGATIONS.filter(
  (aggregation) => aggregation !== 'rate' && aggregation !== 'increase',
);

/** Every aggregation a histogram answers (min, max and last are not defined for them). */
export const HISTOGRAM_AGGREGATIONS: readonly Aggregation[] = AGGREGATIONS.filter(
  (aggregation) => !['min', 'max', 'last'].includes(aggregation),
);
