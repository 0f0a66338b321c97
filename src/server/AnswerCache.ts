/** Answers larger than this are not kept: a cache entry must not pin tens of megabytes. */
const MAX_KEPT_BYTES = 1_048_576;

/**
 * Serialised answers of read routes, kept while the history is unchanged (`version()`, the
 * store's dataVersion, is the same as when the answer's reads began). Identical requests that
 * arrive together share one computation, and dashboards polling the same series between two
 * collections are answered from memory instead of queueing on DuckDB's one read connection.
 * At most `maxEntries` answers, least recently used evicted first.
 */
export class AnswerCache {
  private readonly entries = new Map<string, { version: number; body: Promise<string> }>();

  constructor(
    private readonly version: () => number,
    private readonly maxEntries = 256,
  ) {}

  /** The answer for `key`, from the cache when the history has not changed since it was computed. */
  get(key: string, compute: () => Promise<string>): Promise<string> {
    const version = this.version();
    const hit = this.entries.get(key);
    this.entries.delete(key);
    if (hit !== undefined && hit.version === version) {
      this.entries.set(key, hit);
      return hit.body;
    }
    const body = compute();
    const entry = { version, body };
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    const forget = () => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    };
    body.then((text) => {
      if (text.length > MAX_KEPT_BYTES) forget();
    }, forget);
    return body;
  }
}
