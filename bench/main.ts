/**
 * perfwatch benchmarks: prints figures, asserts nothing. `npm run bench` (builds first, since the
 * RSS figure runs the compiled CLI as users do). The soak runs only when named:
 * `npm run bench:soak -- <minutes>` (or SOAK_MINUTES; default 60).
 */
import { benchAlertEvaluation } from './alertEvaluation.bench.js';
import { benchApi } from './api.bench.js';
import { benchBenchmarkCompare } from './benchmarkCompare.bench.js';
import { benchCollection } from './collection.bench.js';
import { benchHistory } from './history.bench.js';
import { benchReceiver } from './receiver.bench.js';
import { benchReceiverStages } from './receiverStages.bench.js';
import { benchRegressionCycle } from './regressionCycle.bench.js';
import { benchRss } from './rss.bench.js';
import { benchSoak } from './soak.bench.js';
import { benchStoreWrites } from './storeWrite.bench.js';

const only = process.argv[2];
const sections: [string, () => Promise<void>][] = [
  ['collection', benchCollection],
  ['store', benchStoreWrites],
  ['history', benchHistory],
  ['receiver', benchReceiver],
  ['receiver-stages', benchReceiverStages],
  ['regressions', benchRegressionCycle],
  ['benchmarks', benchBenchmarkCompare],
  ['alerts', benchAlertEvaluation],
  ['api', benchApi],
  ['rss', benchRss],
  ['soak', () => benchSoak(Number(process.argv[3] ?? process.env.SOAK_MINUTES ?? 60))],
];
/** Sections too long for a full run, run when named. */
const onlyWhenNamed = new Set(['soak']);
for (const [name, run] of sections) {
  if (only === undefined ? onlyWhenNamed.has(name) : only !== name) continue;
  await run();
}
