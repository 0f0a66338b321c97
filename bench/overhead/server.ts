/**
 * One server of the overhead benchmark: `server.ts VARIANT OTLP_URL`. Serves /trivial (~15 µs of
 * CPU work) and /realistic (~1 ms), records every request as the variant does, prints
 * `ready PORT SCRAPE_URL` on stdout and exits cleanly on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { instrument, VARIANTS, type Variant } from './instrument.js';

const [variant, otlpUrl] = process.argv.slice(2) as [Variant, string];
if (!VARIANTS.includes(variant)) throw new Error(`unknown variant ${variant}`);

/** Busy CPU work for `micros`: the handler's cost, the same in every variant. */
function work(micros: number): number {
  const until = performance.now() + micros / 1000;
  let x = 0;
  while (performance.now() < until) x = (x * 31 + 7) % 1_000_003;
  return x;
}

const WORK_MICROS: Record<string, number> = { '/trivial': 15, '/realistic': 1000 };
const instrumentation = await instrument(variant, otlpUrl);
const server = createServer((req, res) => {
  const started = performance.now();
  const micros = WORK_MICROS[req.url ?? ''];
  const status = micros === undefined ? 404 : 200;
  const body = JSON.stringify({ ok: status === 200, n: micros === undefined ? 0 : work(micros) });
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  instrumentation.record((performance.now() - started) / 1000, req.method ?? 'GET', req.url ?? '', status);
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
console.log(`ready ${(server.address() as AddressInfo).port} ${instrumentation.scrapeUrl ?? '-'}`);

process.once('SIGTERM', async () => {
  server.closeAllConnections();
  server.close();
  await instrumentation.shutdown();
  process.exit(0);
});
