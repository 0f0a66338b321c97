import { createHash } from 'node:crypto';
import type { Attributes } from '@opentelemetry/api';

export type SeriesKind = 'gauge' | 'sum' | 'histogram' | 'exponential_histogram' | 'summary';
export type Temporality = 'cumulative' | 'delta';

/** What identifies a metric stream apart from its point attributes. */
export interface MetricIdentity {
  readonly metricName: string;
  readonly kind: SeriesKind;
  readonly unit: string;
  readonly description: string;
  readonly temporality: Temporality | null;
  readonly monotonic: boolean | null;
  readonly resource: ResourceIdentity;
  readonly scopeName: string;
  readonly scopeVersion: string | null;
}

export interface ResourceIdentity {
  readonly attrs: Readonly<Record<string, string>>;
  /** Canonical (sorted) text of `attrs`; part of every series hash. */
  readonly canonical: string;
  readonly serviceName: string | null;
  readonly serviceInstanceId: string | null;
  readonly serviceVersion: string | null;
  readonly hostName: string | null;
}

export interface SeriesEntry {
  readonly ref: number;
  readonly id: bigint;
  readonly identity: MetricIdentity;
  readonly attrs: Readonly<Record<string, string>>;
  /** Last time persisted in `series.last_seen`, in µs; refreshed coarsely to keep writes cheap. */
  lastSeenPersistedMicros: bigint;
  /**
   * The last write (collectionRows' stamp) that saw this series: a field, not a per-write Set,
   * because marking runs once per point.
   */
  seenInWrite: number;
  /**
   * No committed point of this series is later than this (µs): a point after it is not stored
   * yet, one at or before it may repeat a stored one (see dropRepeatedPoints). For a series loaded
   * from the file, the newest point of its table then; NO_POINT for a series without points.
   */
  newestMicros: bigint;
  /** newestMicros including the points of the write being built (the one stamped seenInWrite). */
  writeNewestMicros: bigint;
}

/** SeriesEntry.newestMicros of a series without any point. */
export const NO_POINT = -(1n << 63n);

/**
 * An attribute value as text: strings as is, numbers, booleans and arrays as JSON. Values OTel
 * does not allow (functions, symbols, objects that JSON cannot encode) become `String(value)`
 * rather than breaking the collection that carries them.
 */
function attributeText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    const json = JSON.stringify(value);
    if (typeof json === 'string') return json;
  } catch {
    // circular or BigInt-holding values fall through to String()
  }
  return String(value);
}

/** Attribute values as stored in MAP(VARCHAR, VARCHAR): strings as is, everything else as JSON. */
function stringifyAttributes(attributes: Attributes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(attributes).sort()) {
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    out[key] = attributeText(value);
  }
  return out;
}

/** True when `text` holds one of the control characters (U+0000–U+0002) the fast key uses. */
function hasSeparatorChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) <= 2) return true;
  return false;
}

/**
 * An attribute set's lookup key, cheaper than the canonical JSON: observable callbacks hand over
 * new attribute objects on every collection, so this runs once per point. It is exact and
 * reversible (see attrsOfKey): sorted names and value texts are joined with \u0000/\u0001, and
 * an attribute set that contains any of \u0000–\u0002 itself falls back to `\u0002` + canonical
 * JSON, a form no fast key can take. The OTLP receiver builds the same keys straight from the
 * wire's key-value lists (see receiver/attributesKeyOf).
 */
export function attributesKey(attributes: Attributes): string {
  const keys = Object.keys(attributes);
  if (keys.length > 1) keys.sort();
  let key = '';
  for (const name of keys) {
    const value = attributes[name];
    if (value === undefined || value === null) continue;
    const text = attributeText(value);
    if (hasSeparatorChar(name) || hasSeparatorChar(text)) {
      return `${SLOW_KEY_PREFIX}${canonicalText(stringifyAttributes(attributes))}`;
    }
    key += `${name}\u0000${text}\u0001`;
  }
  return key;
}

/** Starts a lookup key that is canonical JSON rather than joined names and texts. */
const SLOW_KEY_PREFIX = '\u0002';

/** The stored attributes (names sorted, values as text) a lookup key stands for. */
export function attrsOfKey(key: string): Record<string, string> {
  if (key.startsWith(SLOW_KEY_PREFIX)) return JSON.parse(key.slice(1)) as Record<string, string>;
  const attrs: Record<string, string> = {};
  for (let start = 0; start < key.length; ) {
    const nameEnd = key.indexOf('\u0000', start);
    const valueEnd = key.indexOf('\u0001', nameEnd);
    attrs[key.slice(start, nameEnd)] = key.slice(nameEnd + 1, valueEnd);
    start = valueEnd + 1;
  }
  return attrs;
}

/** True when `text` can stand in a fast lookup key as a name or a value. */
export function fitsFastKey(text: string): boolean {
  return !hasSeparatorChar(text);
}

function canonicalText(attrs: Readonly<Record<string, string>>): string {
  // stringifyAttributes already sorted the keys; JSON keeps key/value boundaries unambiguous.
  return JSON.stringify(attrs);
}

export function resourceIdentity(attributes: Attributes): ResourceIdentity {
  const attrs = stringifyAttributes(attributes);
  return {
    attrs,
    canonical: canonicalText(attrs),
    serviceName: attrs['service.name'] ?? null,
    serviceInstanceId: attrs['service.instance.id'] ?? null,
    serviceVersion: attrs['service.version'] ?? null,
    hostName: attrs['host.name'] ?? null,
  };
}

function metricKey(identity: MetricIdentity): string {
  return JSON.stringify([
    identity.resource.canonical,
    identity.scopeName,
    identity.scopeVersion ?? '',
    identity.metricName,
    identity.kind,
    identity.unit,
  ]);
}

/**
 * The stable 64-bit series id: the first 8 bytes of SHA-256 over the canonical identity. The same
 * stream gets the same id in every file and every process (reader or OTLP receiver).
 */
function seriesIdOf(metricKeyText: string, attrsText: string): bigint {
  return createHash('sha256')
    .update(metricKeyText)
    .update('\n')
    .update(attrsText)
    .digest()
    .readBigUInt64BE(0);
}

/**
 * How many series the history takes, as Prometheus' `sample_limit`/`label_limit` and the
 * Collector's limits bound what one source can add: past a limit a new series is refused and
 * its points are not stored; series already known keep being written.
 */
export interface SeriesLimits {
  /** Series in the whole history. */
  readonly maxSeries: number;
  /** Series of one metric name, across services. */
  readonly maxSeriesPerMetric: number;
}

/** Refused series remembered at most (about 100 bytes each). */
const MAX_REMEMBERED_REFUSALS = 100_000;

export const NO_SERIES_LIMITS: SeriesLimits = Object.freeze({
  maxSeries: Number.POSITIVE_INFINITY,
  maxSeriesPerMetric: Number.POSITIVE_INFINITY,
});

/**
 * In-memory index of the series table. Lookups on the write path cost one short key and two Map
 * gets per point: the metric key is built once per metric.
 * New series stay pending until the transaction that inserts them commits.
 */
export class SeriesCatalog {
  private readonly byMetric = new Map<string, Map<string, SeriesEntry>>();
  private readonly byId = new Map<bigint, SeriesEntry>();
  /** Series per metric name, for maxSeriesPerMetric. */
  private readonly perName = new Map<string, number>();
  private pending: SeriesEntry[] = [];
  private changes = 0;
  private nextRef: number;
  /** Why the last refused series was refused, for the write's message; undefined before any. */
  lastRefusal: string | undefined;
  /**
   * Series refused since room was last made (metric key and lookup key), so a refused series'
   * later points cost one Set lookup instead of a hash each. Emptied when `forget` makes room,
   * and when it reaches MAX_REMEMBERED_REFUSALS (refusals must not grow without bound either).
   */
  private readonly refusedKeys = new Set<string>();

  constructor(
    existing: readonly SeriesEntry[] = [],
    private readonly limits: SeriesLimits = NO_SERIES_LIMITS,
  ) {
    let maxRef = 0;
    for (const entry of existing) {
      this.byId.set(entry.id, entry);
      this.countName(entry, 1);
      if (entry.ref > maxRef) maxRef = entry.ref;
    }
    this.nextRef = maxRef + 1;
  }

  get size(): number {
    return this.byId.size;
  }

  /** The series map of one metric; look points up in it with `resolve`. */
  seriesOf(identity: MetricIdentity): MetricSeries {
    const key = metricKey(identity);
    let series = this.byMetric.get(key);
    if (series === undefined) {
      series = new Map();
      this.byMetric.set(key, series);
    }
    return { key, identity, series };
  }

  resolve(metric: MetricSeries, attributes: Attributes, seenMicros: bigint): SeriesEntry | undefined {
    // No per-object cache: observable callbacks build new attribute objects every collection,
    // and a WeakMap entry per point cost more in GC than building the key.
    return this.resolveKey(metric, attributesKey(attributes), seenMicros);
  }

  /**
   * resolve() by the attribute set's lookup key (see attributesKey). Undefined when the series
   * is new and a limit is reached (`lastRefusal` says which); the refusal is not remembered, so
   * the series is taken once retention has made room.
   */
  resolveKey(metric: MetricSeries, lookupKey: string, seenMicros: bigint): SeriesEntry | undefined {
    const known = metric.series.get(lookupKey);
    if (known !== undefined) return known;

    const refusedKey = this.lastRefusal === undefined ? '' : `${metric.key}\u0003${lookupKey}`;
    if (refusedKey !== '' && this.refusedKeys.has(refusedKey)) return undefined;
    // First sight of this attribute set in this process: compute the stable identity.
    const attrs = attrsOfKey(lookupKey);
    const id = seriesIdOf(metric.key, canonicalText(attrs));
    let entry = this.byId.get(id);
    if (entry === undefined) {
      const refusal = this.limitReached(metric.identity.metricName);
      if (refusal !== undefined) {
        this.lastRefusal = refusal;
        if (this.refusedKeys.size >= MAX_REMEMBERED_REFUSALS) this.refusedKeys.clear();
        this.refusedKeys.add(`${metric.key}\u0003${lookupKey}`);
        return undefined;
      }
      entry = {
        ref: this.nextRef++,
        id,
        identity: metric.identity,
        attrs,
        lastSeenPersistedMicros: seenMicros,
        seenInWrite: 0,
        newestMicros: NO_POINT,
        writeNewestMicros: NO_POINT,
      };
      this.byId.set(id, entry);
      this.countName(entry, 1);
      this.pending.push(entry);
    }
    metric.series.set(lookupKey, entry);
    return entry;
  }

  private limitReached(metricName: string): string | undefined {
    const { maxSeries, maxSeriesPerMetric } = this.limits;
    if (this.byId.size >= maxSeries) {
      return `the history holds ${this.byId.size} series, its limit (maxSeries, env PERFWATCH_MAX_SERIES); new series are refused`;
    }
    const ofName = this.perName.get(metricName) ?? 0;
    if (ofName >= maxSeriesPerMetric) {
      return `metric ${JSON.stringify(metricName)} has ${ofName} series, its limit (maxSeriesPerMetric, env PERFWATCH_MAX_SERIES_PER_METRIC); new series of it are refused`;
    }
    return undefined;
  }

  private countName(entry: SeriesEntry, change: 1 | -1): void {
    const name = entry.identity.metricName;
    const count = (this.perName.get(name) ?? 0) + change;
    if (count > 0) this.perName.set(name, count);
    else this.perName.delete(name);
  }

  /**
   * Forgets series whose rows retention deleted, so a stream that comes back is inserted again
   * (same stable id, new ref) instead of pointing at a row that no longer exists.
   */
  forget(refs: ReadonlySet<number>): void {
    if (refs.size === 0) return;
    this.changes++;
    this.refusedKeys.clear();
    for (const [id, entry] of this.byId) {
      if (!refs.has(entry.ref)) continue;
      this.byId.delete(id);
      this.countName(entry, -1);
    }
    for (const series of this.byMetric.values()) {
      for (const [key, entry] of series) if (refs.has(entry.ref)) series.delete(key);
    }
  }

  /** Series created since the last commit or rollback, to be inserted in this transaction. */
  pendingSeries(): readonly SeriesEntry[] {
    return this.pending;
  }

  commit(): void {
    if (this.pending.length > 0) this.changes++;
    this.pending = [];
  }

  /** Changes whenever committed series were added or forgotten: matched selections may differ. */
  get version(): number {
    return this.changes;
  }

  /** Forgets series whose insert did not commit, so the next attempt inserts them again. */
  rollback(): void {
    if (this.pending.length === 0) return;
    const dropped = new Set(this.pending);
    // (no spread over pending: it can hold hundreds of thousands of entries)
    for (const entry of this.pending) {
      this.byId.delete(entry.id);
      this.countName(entry, -1);
    }
    for (const series of this.byMetric.values()) {
      for (const [text, entry] of series) if (dropped.has(entry)) series.delete(text);
    }
    let lowest = this.nextRef;
    for (const entry of this.pending) if (entry.ref < lowest) lowest = entry.ref;
    this.nextRef = lowest;
    this.pending = [];
  }
}

export interface MetricSeries {
  readonly key: string;
  readonly identity: MetricIdentity;
  readonly series: Map<string, SeriesEntry>;
}
