/**
 * perfwatch benchmarks: prints figures, asserts nothing. `npm run bench` (builds first, since the
 * RSS figure runs the compiled CLI as users do).
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
];
for (const [name, run] of sections) {
  if (only !== undefined && only !== name) continue;
  await run();
}
