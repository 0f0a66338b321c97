import type { Logger } from '../../src/logging/Logger.js';

export interface LogEntry {
  level: 'error' | 'warn' | 'info' | 'debug';
  context: object;
  message: string;
}

/** A Logger that keeps every entry for assertions. */
export function captureLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (context: object, message: string) => {
    entries.push({ level, context, message });
  };
  return { entries, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}
