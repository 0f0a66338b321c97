import type { QueryRunner } from './QueryRunner.js';
import { type MatchedSeries, matchSeries, type TimeSeriesQuery } from './queryTimeSeries.js';

/** A store that says when its series catalog changed (MetricStore). */
interface VersionedCatalog {
  readonly seriesVersion: number;
  readonly seriesCount: number;
}

/**
 * matchSeries answers kept while the series catalog stays the same. A series' identity (metric,
 * kind, attributes, resource) never changes, so the series a query selects change only when
 * series are added or deleted; `refresh` notices either — from the store's catalog version when
 * it has one (the writing MetricStore), else through the count and the sum and maximum of the
 * refs (refs only grow within a process, so an addition always moves the maximum and a deletion
 * alone always lowers the count) — and then forgets every answer.
 */
export class SeriesMatchCache {
  private fingerprint: string | undefined;
  /** Series in the catalog at the last refresh. */
  seriesCount = 0;
  private readonly answers = new Map<string, Promise<MatchedSeries[]>>();

  /** Forgets the answers when series were added or deleted since the last refresh. */
  async refresh(db: QueryRunner | (QueryRunner & VersionedCatalog)): Promise<void> {
    if ('seriesVersion' in db) {
      this.seriesCount = db.seriesCount;
      return this.settle(`v${db.seriesVersion}`);
    }
    const [row] = await db.query(
      'SELECT count(*) AS n, max(series_ref) AS top, sum(series_ref) AS total FROM series',
    );
    this.seriesCount = Number(row?.n ?? 0);
    this.settle(`${row?.n}:${row?.top}:${row?.total}`);
  }

  private settle(fingerprint: string): void {
    if (fingerprint === this.fingerprint) return;
    this.answers.clear();
    this.fingerprint = fingerprint;
  }

  /** matchSeries for `query`, from the cache when an equal selection was answered before. */
  readonly match = (db: QueryRunner, query: TimeSeriesQuery): Promise<readonly MatchedSeries[]> => {
    const key = JSON.stringify([
      query.metric,
      query.where ?? {},
      query.matchers ?? [],
      query.groupBy ?? [],
      query.ifMissing ?? 'error',
    ]);
    let answer = this.answers.get(key);
    if (answer === undefined) {
      answer = matchSeries(db, query);
      this.answers.set(key, answer);
      // A failure (a metric missing with ifMissing 'error', a lost connection) is not kept.
      answer.catch(() => this.answers.delete(key));
    }
    return answer;
  };
}
