import type { Logger } from '../logging/Logger.js';
import type { PerfWatch } from '../startPerfWatch.js';
import type { AnswerCache } from './AnswerCache.js';
import type { ApiServerConfig } from './ApiServerOptions.js';
import type { EventStream } from './EventStream.js';
import type { LiveSql } from './LiveSql.js';
import type { MetricRecorder } from './MetricRecorder.js';

/** What every route module is given: the running perfwatch and the server's own parts. */
export interface ServerContext {
  readonly perfwatch: PerfWatch;
  readonly config: ApiServerConfig;
  readonly logger: Logger;
  readonly events: EventStream;
  readonly sql: LiveSql;
  readonly recorder: MetricRecorder;
  /** Serialised answers of time-series reads, kept while the history is unchanged. */
  readonly answers: AnswerCache;
  /** Wall clock, epoch ms. */
  readonly now: () => number;
}

/** The success envelope. */
export function ok<T>(data: T): { status: 'success'; data: T } {
  return { status: 'success', data };
}
