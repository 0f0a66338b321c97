import { DEFAULT_DB_PATH } from '../config/resolveConfig.js';
import { StoreLockedError } from '../errors.js';

/** The history file a read command uses: --db, else PERFWATCH_DB_PATH, else the start default. */
export function historyPath(flag: string | undefined): string {
  return flag ?? (process.env.PERFWATCH_DB_PATH?.trim() || DEFAULT_DB_PATH);
}

/** Opens a read-only view of the history, explaining what to do when `perfwatch start` holds it. */
export async function openForReading<T>(path: string, open: (path: string) => Promise<T>): Promise<T> {
  try {
    return await open(path);
  } catch (error) {
    if (error instanceof StoreLockedError) {
      throw new StoreLockedError(error.path, error.holderPid, {
        cause: error,
        hint:
          'a running `perfwatch start` holds the file: query a snapshot it writes (PERFWATCH_SNAPSHOT_PATH, ' +
          'or `perfwatch snapshot` while stopped) or a Parquet export (`perfwatch export`), or stop it to query ' +
          'the file directly',
      });
    }
    throw error;
  }
}
