import { StoreLockedError } from '../errors.js';
import { MetricStore } from '../store/MetricStore.js';

/** Opens the history for a maintenance command; when `perfwatch start` holds it, says what to do instead. */
export async function openForMaintenance(path: string, whenRunning: string): Promise<MetricStore> {
  try {
    return await MetricStore.open(path);
  } catch (error) {
    if (error instanceof StoreLockedError) {
      throw new StoreLockedError(error.path, error.holderPid, { cause: error, hint: whenRunning });
    }
    throw error;
  }
}
