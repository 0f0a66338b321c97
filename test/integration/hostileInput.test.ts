import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportMetricsServiceRequest } from '../../src/receiver/otlpMetricsSchema.js';
import { type ApiServer, createApiServer } from '../../src/server/createApiServer.js';
import { resolveApiConfig } from '../../src/server/resolveApiConfig.js';
import { type PerfWatch, startPerfWatch } from '../../src/startPerfWatch.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { writeFixtureFile } from '../helpers/fixtureCollection.js';
import { manualScheduler } from '../helpers/manualScheduler.js';
import { seedPoints } from '../helpers/seedHistory.js';
import { tempDir } from '../helpers/tempDir.js';

/*
 * Keeps perfwatch attacked: generated malformed OTLP (both encodings), API requests built from
 * the OpenAPI document with hostile values, and forbidden or greedy SQL, thrown at a running
 * service. Whatever comes in: no 5xx, no crash, memory within a bound, and the rows already in
 * the file unchanged. Seeded, so a failure replays; bounded in count, loopback only.
 */

const SEED = 20261207;
const OTLP_CASES = 400;
const API_CASES_PER_ROUTE = 12;
/** Growth of this process's RSS over the whole suite that still passes. */
const RSS_GROWTH_BOUND_BYTES = 512 * 1024 * 1024;

/** mulberry32: small, seedable, good enough to pick mutations. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const next = random(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

const JUNK_VALUES: unknown[] = [
  null,
  '',
  'abc',
  -1,
  0,
  -0.5,
  '-1',
  '-1e18',
  '18446744073709551615',
  '18446744073709551616',
  'NaN',
  'Infinity',
  2 ** 53 + 2,
  1e308,
  true,
  {},
  [],
  [[[[[]]]]],
  { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } },
  'x'.repeat(5000),
  '\u0000\u0001\u0002',
  '\ud800',
  '%E0%A4%A',
  '__proto__',
];

function validRequest(): Record<string, unknown> {
  const time = '1767225600000000000';
  const attributes = [
    { key: 'route', value: { stringValue: '/pay' } },
    { key: 'code', value: { intValue: '200' } },
  ];
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fuzz' } }] },
        scopeMetrics: [
          {
            scope: { name: 'fuzz', version: '1' },
            metrics: [
              {
                name: 'fuzz.gauge',
                gauge: { dataPoints: [{ timeUnixNano: time, asDouble: 1.5, attributes }] },
              },
              {
                name: 'fuzz.sum',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: true,
                  dataPoints: [{ startTimeUnixNano: time, timeUnixNano: time, asInt: '7', attributes }],
                },
              },
              {
                name: 'fuzz.histogram',
                histogram: {
                  aggregationTemporality: 1,
                  dataPoints: [
                    {
                      timeUnixNano: time,
                      count: '3',
                      sum: 6,
                      min: 1,
                      max: 3,
                      bucketCounts: ['1', '2'],
                      explicitBounds: [1.5],
                    },
                  ],
                },
              },
              {
                name: 'fuzz.exponential',
                exponentialHistogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      timeUnixNano: time,
                      count: '2',
                      scale: 2,
                      zeroCount: '1',
                      positive: { offset: -1, bucketCounts: ['1'] },
                    },
                  ],
                },
              },
              {
                name: 'fuzz.summary',
                summary: {
                  dataPoints: [
                    { timeUnixNano: time, count: '1', sum: 2, quantileValues: [{ quantile: 0.5, value: 2 }] },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

/** Replaces, deletes or deepens one randomly chosen place in a JSON value. */
function mutate(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || next() < 0.15 || depth > 12) {
    const roll = next();
    if (roll < 0.8) return pick(JUNK_VALUES);
    let deep: unknown = 'leaf';
    for (let i = 0; i < 20 + Math.floor(next() * 200); i++) deep = next() < 0.5 ? [deep] : { k: deep };
    return deep;
  }
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...value };
  const keys = Object.keys(copy);
  if (keys.length === 0) return pick(JUNK_VALUES);
  const key = pick(keys);
  if (next() < 0.1 && !Array.isArray(copy)) delete copy[key];
  else (copy as Record<string, unknown>)[key] = mutate((copy as Record<string, unknown>)[key], depth + 1);
  return copy;
}

function mutateBytes(bytes: Uint8Array): Uint8Array {
  const out = Buffer.from(bytes);
  switch (Math.floor(next() * 4)) {
    case 0:
      return out.subarray(0, Math.floor(next() * out.length));
    case 1:
      for (let i = 0; i < 1 + Math.floor(next() * 8); i++)
        out[Math.floor(next() * out.length)] = Math.floor(next() * 256);
      return out;
    case 2: {
      const at = Math.floor(next() * out.length);
      return Buffer.concat([
        out.subarray(0, at),
        Buffer.from(Array.from({ length: 16 }, () => Math.floor(next() * 256))),
        out.subarray(at),
      ]);
    }
    default:
      return Buffer.concat([out, out.subarray(Math.floor(next() * out.length))]);
  }
}

/** Percent-encoded; a lone surrogate (which encodeURIComponent refuses) as its UTF-8 replacement. */
function encoded(text: string): string {
  return encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '\ufffd'));
}

let perfwatch: PerfWatch;
let api: ApiServer;
let receiverUrl: string;
let rssAtStart: number;
let cleanup: () => Promise<void>;
let before: Record<string, unknown>;

/** A fingerprint of the rows that were in the file before the attack. */
async function existingRows(seriesBefore: number): Promise<Record<string, unknown>> {
  const [numbers] = await perfwatch.store.query(
    `SELECT count(*)::BIGINT AS n, sum(hash(series_ref, time, value))::HUGEINT AS h
     FROM points_number WHERE series_ref <= ${seriesBefore}`,
  );
  const [histograms] = await perfwatch.store.query(
    `SELECT count(*)::BIGINT AS n, sum(hash(series_ref, time, count, counts))::HUGEINT AS h
     FROM points_histogram WHERE series_ref <= ${seriesBefore}`,
  );
  const [series] = await perfwatch.store.query(
    `SELECT count(*)::BIGINT AS n, sum(hash(series_id, metric_name, attrs::VARCHAR))::HUGEINT AS h
     FROM series WHERE series_ref <= ${seriesBefore}`,
  );
  return { numbers, histograms, series };
}

let seriesBefore = 0;

beforeAll(async () => {
  const dir = await tempDir();
  const dbPath = dir.file('attacked.duckdb');
  await writeFixtureFile(dbPath, seedPoints(1_767_225_600));
  perfwatch = await startPerfWatch({
    dbPath,
    serviceName: 'fuzz-target',
    collectionIntervalMillis: 3_600_000,
    hostMetrics: false,
    runtimeMetrics: false,
    prometheusEnabled: false,
    regressionIntervalMinutes: 0,
    otlpReceiver: { port: 0 },
    scheduler: manualScheduler(),
    logger: captureLogger(),
  });
  receiverUrl = perfwatch.receiver!.url;
  api = await createApiServer(perfwatch, resolveApiConfig({ port: 0 }, {}));
  const [row] = await perfwatch.store.query('SELECT max(series_ref)::INTEGER AS n FROM series');
  seriesBefore = Number(row!.n);
  before = await existingRows(seriesBefore);
  rssAtStart = process.memoryUsage().rss;
  cleanup = async () => {
    await api.close();
    await perfwatch.shutdown();
    await dir.cleanup();
  };
}, 60_000);

afterAll(() => cleanup?.());

describe('hostile input', () => {
  it(`answers ${OTLP_CASES} mutated OTLP requests in both encodings without a 5xx`, async () => {
    const statuses = new Map<number, number>();
    for (let i = 0; i < OTLP_CASES; i++) {
      const json = i % 2 === 0;
      let body: Uint8Array | string;
      if (json) {
        const text = JSON.stringify(mutate(validRequest()));
        // Numbers JSON.stringify cannot write: 1e309 parses as Infinity.
        body = next() < 0.1 ? text.replace(/\d+(\.\d+)?(?=[,}\]])/, '1e309') : text;
      } else {
        const valid = ExportMetricsServiceRequest.encode(
          ExportMetricsServiceRequest.fromObject(validRequest()),
        ).finish();
        body = mutateBytes(valid);
      }
      const response = await fetch(receiverUrl, {
        method: 'POST',
        headers: { 'Content-Type': json ? 'application/json' : 'application/x-protobuf' },
        body,
      });
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      expect(
        response.status,
        `case ${i}: ${typeof body === 'string' ? body.slice(0, 300) : 'protobuf'}`,
      ).toBeLessThan(500);
    }
    // Both kinds of answer happened: the mutations reach the rules, not only the decoder.
    expect(statuses.get(200)).toBeGreaterThan(0);
    expect(statuses.get(400)).toBeGreaterThan(0);
  }, 120_000);

  it('answers requests built from the OpenAPI document with hostile values without a 5xx', async () => {
    const document = (await api.app.inject({ url: '/api/performance/openapi.json' })).json() as {
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: { name: string; in: string }[];
            requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
          }
        >
      >;
    };
    let requests = 0;
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        // cleanup deletes by design (its bounds have their own test); events is a stream that stays open.
        if (path.endsWith('/cleanup') || path.endsWith('/events')) continue;
        for (let i = 0; i < API_CASES_PER_ROUTE; i++) {
          const junkText = () => {
            const value = pick(JUNK_VALUES);
            return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
          };
          const url = path.replace(/\{[^}]+\}/g, () => encoded(junkText()).slice(0, 3000));
          const query = (operation.parameters ?? [])
            .filter((parameter) => parameter.in === 'query' && next() < 0.7)
            .map(
              (parameter) =>
                `${parameter.name}=${next() < 0.5 ? encoded(junkText()) : junkText().replace(/[#&]/g, '')}`,
            )
            .join('&');
          const properties = operation.requestBody?.content?.['application/json']?.schema?.properties ?? {};
          const body = Object.fromEntries(
            Object.keys(properties)
              .filter(() => next() < 0.7)
              .map((name) => [name, pick(JUNK_VALUES)]),
          );
          const mutating = method !== 'get';
          const response = await api.app.inject({
            method: method.toUpperCase() as 'GET',
            url: `${url}${query ? `?${query}` : ''}`,
            ...(mutating
              ? { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) }
              : {}),
          });
          requests++;
          expect(
            response.statusCode,
            `${method.toUpperCase()} ${url}?${query} ${JSON.stringify(body).slice(0, 200)}`,
          ).toBeLessThan(500);
          expect(() => response.json(), 'every answer is an envelope').not.toThrow();
        }
      }
    }
    expect(requests).toBeGreaterThan(100);
  }, 120_000);

  it('refuses forbidden SQL and stops greedy SQL within its timeout, without a 5xx', async () => {
    const forbidden = [
      "COPY series TO '/tmp/perfwatch-fuzz.csv'",
      "ATTACH '/tmp/perfwatch-fuzz.duckdb' AS other",
      'INSTALL httpfs',
      'LOAD httpfs',
      "SET memory_limit = '100GB'",
      'PRAGMA enable_external_access',
      'CREATE TABLE t AS SELECT 1',
      'DROP TABLE series',
      'DELETE FROM points_number',
      'UPDATE series SET metric_name = 1',
      "SELECT * FROM read_csv('/etc/passwd')",
      "SELECT * FROM read_text('/etc/hostname')",
      "SELECT * FROM 'http://127.0.0.1:1/x.parquet'",
      'SELECT 1; SELECT 2',
      'CALL pragma_version()',
      '',
    ];
    for (const sql of forbidden) {
      const response = await api.app.inject({
        method: 'POST',
        url: '/api/performance/sql',
        headers: { 'content-type': 'application/json' },
        payload: { sql, timeout_seconds: 2 },
      });
      expect(response.statusCode, sql).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, sql).toBeLessThan(500);
    }
    const greedy = await api.app.inject({
      method: 'POST',
      url: '/api/performance/sql',
      headers: { 'content-type': 'application/json' },
      payload: { sql: 'SELECT count(*) FROM range(1000000000000) a', timeout_seconds: 1 },
    });
    expect(greedy.statusCode).toBe(400);
    expect(greedy.json().error.code).toBe('PERFWATCH_SQL_TIMEOUT');
  }, 60_000);

  it('keeps every row that was in the file, keeps writing, and stays within its memory bound', async () => {
    expect(await existingRows(seriesBefore)).toEqual(before);
    await perfwatch.forceFlush();
    const health = (await api.app.inject({ url: '/api/performance/health' })).json();
    expect(health.status).toBe('success');
    expect(process.memoryUsage().rss - rssAtStart).toBeLessThan(RSS_GROWTH_BOUND_BYTES);
  });
});
