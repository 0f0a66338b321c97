/**
 * Every error perfwatch raises on purpose carries a stable string `code`. Codes are never reused
 * or renamed: users match on them in scripts, and the CLI maps them to exit codes.
 */
export class PerfWatchError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A setting failed validation. `setting` names the option (and its env var when it has one). */
export class ConfigError extends PerfWatchError {
  readonly setting: string;

  constructor(setting: string, message: string, options?: { cause?: unknown }) {
    super('PERFWATCH_CONFIG_INVALID', `${setting}: ${message}`, options);
    this.setting = setting;
  }
}

/** The DuckDB file is held by another process (DuckDB allows one writer process per file). */
export class StoreLockedError extends PerfWatchError {
  readonly path: string;
  readonly holderPid: number | undefined;

  /** `hint` replaces the default advice (stop the holder or use another file). */
  constructor(path: string, holderPid: number | undefined, options?: { cause?: unknown; hint?: string }) {
    const advice = options?.hint ?? 'stop that process or point --db at another file';
    const holder =
      holderPid === undefined
        ? `another process; ${advice}`
        : holderPid === process.pid
          ? `this process (PID ${holderPid}); share the open MetricStore instead of opening it twice`
          : `another process (PID ${holderPid}); ${advice}`;
    super('PERFWATCH_STORE_LOCKED', `database file ${path} is already in use by ${holder}`, options);
    this.path = path;
    this.holderPid = holderPid;
  }
}

/** The file was written by a newer perfwatch whose schema this version does not know. */
export class SchemaVersionError extends PerfWatchError {
  constructor(path: string, fileVersion: number, supportedVersion: number) {
    super(
      'PERFWATCH_SCHEMA_TOO_NEW',
      `database file ${path} has schema version ${fileVersion}, but this perfwatch supports up to ` +
        `version ${supportedVersion}; upgrade perfwatch to open it (the file was left unchanged)`,
    );
  }
}

/** Opening, reading or writing the DuckDB file failed for a reason other than the ones above. */
export class StoreError extends PerfWatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PERFWATCH_STORE_FAILED', message, options);
  }
}

/**
 * A collection that cannot be stored whatever the retries (malformed data); the reader drops it
 * and counts it instead of retrying it forever.
 */
export class InvalidCollectionError extends PerfWatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(
      'PERFWATCH_COLLECTION_INVALID',
      `a collection could not be converted for storage: ${message}`,
      options,
    );
  }
}

/** A component was used after `shutdown()`. */
export class ShutdownError extends PerfWatchError {
  constructor(component: string) {
    super('PERFWATCH_SHUT_DOWN', `${component} has been shut down`);
  }
}

/** `perfwatch sql` refused a statement: not a single read-only SELECT. */
export class SqlRefusedError extends PerfWatchError {
  constructor(reason: string) {
    super('PERFWATCH_SQL_REFUSED', `sql: ${reason}`);
  }
}

/** A sandboxed query ran past its timeout and was interrupted. */
export class SqlTimeoutError extends PerfWatchError {
  constructor(timeoutMillis: number) {
    super(
      'PERFWATCH_SQL_TIMEOUT',
      `sql: the query ran longer than ${timeoutMillis} ms and was interrupted; narrow it (WHERE TimeUnix > …) or raise --timeout`,
    );
  }
}

/**
 * A sandboxed query went over one of its resource limits (the query process's memory, the spill
 * folder's size, the result's size) and was stopped.
 */
export class SqlMemoryLimitError extends PerfWatchError {
  constructor(reason: string) {
    super('PERFWATCH_SQL_MEMORY_LIMIT', `sql: ${reason}`);
  }
}

/** A sandboxed query failed in DuckDB (syntax error, unknown column, permission error, …). */
export class SqlError extends PerfWatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PERFWATCH_SQL_FAILED', `sql: ${message}`, options);
  }
}

/** A query the arguments make impossible; `argument` names the offending one. */
export class QueryError extends PerfWatchError {
  readonly argument: string;

  constructor(argument: string, message: string) {
    super('PERFWATCH_QUERY_INVALID', `${argument}: ${message}`);
    this.argument = argument;
  }
}

/**
 * An alert rule (or rules file) failed validation. `rule` names the rule (or its position when it
 * has no valid name), `field` the offending field as a path such as `selector.matchers[1]`.
 */
export class RuleError extends PerfWatchError {
  readonly rule: string | undefined;
  readonly field: string;
  readonly source: string | undefined;

  constructor(rule: string | undefined, field: string, message: string, source?: string) {
    const where = [source, rule === undefined ? undefined : `rule "${rule}"`].filter(Boolean).join(': ');
    super('PERFWATCH_RULE_INVALID', `${where ? `${where}: ` : ''}${field}: ${message}`);
    this.rule = rule;
    this.field = field;
    this.source = source;
  }
}

/** Why a benchmark command cannot be done; each reason has its own stable code. */
export type BenchmarkProblem = 'not_found' | 'exists' | 'no_data' | 'invalid';

const BENCHMARK_CODES: Record<BenchmarkProblem, string> = {
  not_found: 'PERFWATCH_BENCHMARK_NOT_FOUND',
  exists: 'PERFWATCH_BENCHMARK_EXISTS',
  no_data: 'PERFWATCH_BENCHMARK_NO_DATA',
  invalid: 'PERFWATCH_BENCHMARK_INVALID',
};

/**
 * A benchmark that does not exist, a name already taken (without `replace`), a window without data
 * for the selection, or an invalid option (`field` names it). Nothing stored has changed.
 */
export class BenchmarkError extends PerfWatchError {
  readonly problem: BenchmarkProblem;
  readonly field: string;

  constructor(problem: BenchmarkProblem, field: string, message: string) {
    super(BENCHMARK_CODES[problem], `${field}: ${message}`);
    this.problem = problem;
    this.field = field;
  }
}

/** `perfwatch benchmark compare --fail-on`: series with a failing verdict; the CLI exits 1. */
export class BenchmarkGateError extends PerfWatchError {
  readonly failing: number;

  constructor(failing: number, verdicts: readonly string[]) {
    super(
      'PERFWATCH_BENCHMARK_GATE_FAILED',
      `benchmark gate failed: ${failing} series ${verdicts.join(' or ')} (--fail-on ${verdicts.join(',')})`,
    );
    this.failing = failing;
  }
}
