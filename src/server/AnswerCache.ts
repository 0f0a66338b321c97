interface Entry {
  readonly version: number;
  readonly body: Promise<string>;
  /** Characters of the answer once computed (0 while it is). */
  size: number;
}

/**
 * Serialised answers of read routes, kept while the history is unchanged (`version()`, the
 * store's dataVersion, is the same as when the answer's reads began). Identical requests that
 * arrive together share one computation, and dashboards polling the same series between two
 * collections are answered from memory instead of queueing on DuckDB's one read connection.
 * Bounded by entries and by characters kept, least recently used evicted first.
 */
export class AnswerCache {
  private readonly entries = new Map<string, Entry>();
  private keptSize = 0;

  constructor(
    private readonly version: () => number,
    private readonly maxEntries = 256,
    /** Characters of answers kept in all (a JSON character is about a byte). */
    private readonly maxSize = 16 * 1_048_576,
  ) {}

  /** The answer for `key`, from the cache when the history has not changed since it was computed. */
  get(key: string, compute: () => Promise<string>): Promise<string> {
    const version = this.version();
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.remove(key, hit);
      if (hit.version === version) {
        this.entries.set(key, hit);
        this.keptSize += hit.size;
        return hit.body;
      }
    }
    const entry: Entry = { version, body: compute(), size: 0 };
    this.entries.set(key, entry);
    entry.body.then(
      (text) => {
        if (this.entries.get(key) !== entry) return;
        // Larger than the whole cache: kept by no one rather than flushing everything else.
        if (text.length > this.maxSize) {
          this.remove(key, entry);
          return;
        }
        entry.size = text.length;
        this.keptSize += entry.size;
        this.evict();
      },
      () => {
        if (this.entries.get(key) === entry) this.remove(key, entry);
      },
    );
    this.evict();
    return entry.body;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.keptSize <= this.maxSize) return;
      this.remove(key, entry);
    }
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.keptSize -= entry.size;
  }
}
