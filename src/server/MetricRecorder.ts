import type { Attributes, Counter, Gauge, Histogram, Meter } from '@opentelemetry/api';
import { HttpError } from './HttpError.js';

export type RecordedType = 'gauge' | 'counter' | 'histogram';

export interface RecordRequest {
  readonly name: string;
  readonly value: number;
  readonly type: RecordedType;
  readonly unit?: string;
  readonly description?: string;
  readonly attributes?: Attributes;
}

type Instrument =
  | { type: 'gauge'; unit: string; instrument: Gauge }
  | { type: 'counter'; unit: string; instrument: Counter }
  | { type: 'histogram'; unit: string; instrument: Histogram };

/**
 * Records `POST metrics` values through OTel instruments on the PerfWatch meter, so they flow to
 * DuckDB, Prometheus and OTLP like any other metric. One instrument per name, created on first
 * use and reused (the SDK would warn about, and split, a name registered twice); a later request
 * naming it with another type or unit is refused instead of creating a conflicting stream.
 */
export class MetricRecorder {
  private readonly instruments = new Map<string, Instrument>();

  constructor(
    private readonly meter: Meter,
    /**
     * Metric names it records at most: each is an SDK instrument for the life of the process,
     * so new names past it are refused (the SDK's cardinality limit bounds each one's series).
     */
    private readonly maxNames = 1000,
  ) {}

  record(request: RecordRequest): void {
    const instrument = this.instrumentFor(request);
    const attributes = request.attributes ?? {};
    switch (instrument.type) {
      case 'gauge':
        instrument.instrument.record(request.value, attributes);
        break;
      case 'counter':
        if (request.value < 0) {
          throw new HttpError(
            400,
            'PERFWATCH_REQUEST_INVALID',
            'body.value: a counter only goes up; must be >= 0',
            {
              location: 'body',
              field: 'value',
              rule: 'minimum',
            },
          );
        }
        instrument.instrument.add(request.value, attributes);
        break;
      case 'histogram':
        instrument.instrument.record(request.value, attributes);
        break;
    }
  }

  private instrumentFor(request: RecordRequest): Instrument {
    const unit = request.unit ?? '';
    const known = this.instruments.get(request.name);
    if (known !== undefined) {
      if (known.type !== request.type || known.unit !== unit) {
        throw new HttpError(
          409,
          'PERFWATCH_METRIC_CONFLICT',
          `metric ${request.name} is already recorded as a ${known.type}${known.unit ? ` in ${known.unit}` : ''}; a name keeps one type and unit`,
          { field: known.type !== request.type ? 'type' : 'unit' },
        );
      }
      return known;
    }
    if (this.instruments.size >= this.maxNames) {
      throw new HttpError(
        403,
        'PERFWATCH_METRIC_LIMIT',
        `POST metrics records at most ${this.maxNames} metric names and has them all; values of the names it has are still recorded`,
        { field: 'name', limit: this.maxNames },
      );
    }
    const options = { unit, ...(request.description ? { description: request.description } : {}) };
    const created: Instrument =
      request.type === 'gauge'
        ? { type: 'gauge', unit, instrument: this.meter.createGauge(request.name, options) }
        : request.type === 'counter'
          ? { type: 'counter', unit, instrument: this.meter.createCounter(request.name, options) }
          : { type: 'histogram', unit, instrument: this.meter.createHistogram(request.name, options) };
    this.instruments.set(request.name, created);
    return created;
  }
}
