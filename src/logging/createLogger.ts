import { pino } from 'pino';
import type { LogLevel } from '../config/PerfWatchOptions.js';
import type { Logger } from './Logger.js';

/** JSON lines on stderr, so stdout stays free for command output (`perfwatch sql`, …). */
export function createLogger(level: LogLevel): Logger {
  return pino({ name: 'perfwatch', level }, pino.destination({ fd: 2, sync: true }));
}
