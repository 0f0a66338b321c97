import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricStore } from '../../src/store/MetricStore.js';
import { runCli, spawnCli, stderrContaining } from '../helpers/runCli.js';
import { tempDir } from '../helpers/tempDir.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

/** The receiver and the API share it; the API wants at least 16 characters. */
const TOKEN = 'serve-test-token-0123';

const request = {
  resourceMetrics: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'remote' } }] },
      scopeMetrics: [
        {
          scope: { name: 'app' },
          metrics: [
            {
              name: 'jobs.done',
              sum: {
                aggregationTemporality: 2,
                isMonotonic: true,
                dataPoints: [
                  {
                    asInt: '12',
                    timeUnixNano: '1767225600000000000',
                    startTimeUnixNano: '1767225500000000000',
                  },
                ],
              },
            },
          ],
        },
      ],
    },
  ],
};

describe('perfwatch serve', () => {
  it('receives OTLP/HTTP with a bearer token, and SIGTERM writes everything and closes the file', async () => {
    const db = dir.file('central.duckdb');
    const child = spawnCli(['serve', '--db', db, '--port', '0'], { PERFWATCH_API_TOKEN: TOKEN });
    const banner = await stderrContaining(child, 'Ctrl-C to stop');
    const url = /at (http:\/\/\S+\/v1\/metrics)/.exec(banner)?.[1];
    expect(url).toBeDefined();
    expect(banner).toContain('bearer token required');

    const headers = { 'Content-Type': 'application/json' };
    expect((await fetch(url!, { method: 'POST', headers, body: JSON.stringify(request) })).status).toBe(401);
    const accepted = await fetch(url!, {
      method: 'POST',
      headers: { ...headers, Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(request),
    });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({});

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);

    const store = await MetricStore.open(db);
    try {
      expect(
        await store.query(
          'SELECT ServiceName, MetricName, Value, IsMonotonic, AggregationTemporality FROM otel_metrics_sum',
        ),
      ).toEqual([
        {
          ServiceName: 'remote',
          MetricName: 'jobs.done',
          Value: 12,
          IsMonotonic: true,
          AggregationTemporality: 2,
        },
      ]);
    } finally {
      await store.close();
    }
  });

  it('exits 2 naming the flag for a non-loopback host without a token, and for a port in use', async () => {
    const exposed = await runCli(['serve', '--db', dir.file('a.duckdb'), '--host', '0.0.0.0']);
    expect(exposed.code).toBe(2);
    expect(exposed.stderr.trim()).toMatch(
      /^perfwatch: --host: "0.0.0.0" is not a loopback interface: set a token/,
    );

    const occupier = createServer();
    occupier.listen(0, '127.0.0.1');
    await once(occupier, 'listening');
    const port = (occupier.address() as AddressInfo).port;
    try {
      const taken = await runCli(['serve', '--db', dir.file('b.duckdb'), '--port', String(port)]);
      expect(taken.code).toBe(2);
      expect(taken.stderr.trim()).toBe(`perfwatch: --port: 127.0.0.1:${port} is already in use`);
    } finally {
      occupier.close();
    }
    const badPort = await runCli(['serve', '--db', dir.file('c.duckdb'), '--port', 'http']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr.trim()).toBe('perfwatch: --port: must be a whole number, got "http"');
  });
});
