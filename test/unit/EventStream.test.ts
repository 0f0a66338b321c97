import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { AlertStatus } from '../../src/alerts/AlertProcessor.js';
import { silentLogger } from '../../src/logging/Logger.js';
import { EventStream } from '../../src/server/EventStream.js';
import type { PerfWatch } from '../../src/startPerfWatch.js';

/** A response that records what the stream writes. */
function fakeResponse() {
  const chunks: string[] = [];
  const closers: (() => void)[] = [];
  const response = {
    headers: {} as Record<string, unknown>,
    writeHead(status: number, headers: Record<string, unknown>) {
      response.headers = { status, ...headers };
      return response;
    },
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
    end() {
      for (const close of closers) close();
    },
    on(event: string, listener: () => void) {
      if (event === 'close') closers.push(listener);
      return response;
    },
  };
  return { response, text: () => chunks.join('') };
}

/** A PerfWatch with only what EventStream reads: collections, alert states and open regressions. */
function fakePerfWatch() {
  let listener: (() => void) | undefined;
  let statuses: AlertStatus[] = [];
  let regressionRows: Record<string, unknown>[] = [];
  const perfwatch = {
    onCollection: (l: () => void) => {
      listener = l;
      return () => {
        listener = undefined;
      };
    },
    status: () => ({
      lastCollectionAt: new Date('2026-11-30T00:00:00Z'),
      collectionsWritten: 3,
      pointsWritten: 120,
      writeErrors: 0,
      droppedCollections: 0,
      pendingCollections: 0,
    }),
    alerts: { statuses: () => statuses },
    store: { query: async () => regressionRows },
  } as unknown as PerfWatch;
  return {
    perfwatch,
    collect: () => listener?.(),
    setStatuses: (next: AlertStatus[]) => {
      statuses = next;
    },
    setRegressions: (rows: Record<string, unknown>[]) => {
      regressionRows = rows;
    },
  };
}

const regressionRow = (id: string) => ({
  id,
  metric_name: 'process.memory.usage',
  service_name: 'checkout',
  labels: '{}',
  kind: 'regression',
  severity: 'critical',
  change_time: new Date('2026-11-29T22:00:00Z'),
  explanation: 'process.memory.usage for checkout rose 50 % — a regression.',
});

/** Resolves once the stream has written `text` (the stream works through a promise chain). */
async function written(text: () => string, expected: string): Promise<string> {
  for (let i = 0; i < 100 && !text().includes(expected); i++)
    await new Promise((resolve) => setImmediate(resolve));
  return text();
}

describe('EventStream', () => {
  it('sends collection, alert changes and new regressions only, in that order', async () => {
    const fake = fakePerfWatch();
    fake.setRegressions([regressionRow('old1')]);
    const stream = new EventStream(fake.perfwatch, silentLogger);
    const { response, text } = fakeResponse();
    await stream.attach(response as unknown as ServerResponse);
    expect(response.headers).toMatchObject({
      status: 200,
      'content-type': 'text/event-stream; charset=utf-8',
    });

    fake.setStatuses([
      {
        rule: 'HighCpu',
        severity: 'warning',
        labels: { 'host.name': 'web-1' },
        state: 'firing',
        value: 0.97,
        activeAt: 1,
        firedAt: 2,
      },
    ]);
    fake.setRegressions([regressionRow('old1'), regressionRow('new1')]);
    fake.collect();
    const output = await written(text, 'event: regression');
    const events = output
      .split('\n\n')
      .filter((block) => block.includes('event: '))
      .map((block) => ({
        event: /event: (\w+)/.exec(block)?.[1],
        data: JSON.parse(/data: (.*)/.exec(block)?.[1] as string),
      }));
    expect(events.map((event) => event.event)).toEqual(['collection', 'alert', 'regression']);
    expect(events[0]?.data).toEqual({
      time: '2026-11-30T00:00:00.000Z',
      collectionsWritten: 3,
      pointsWritten: 120,
    });
    expect(events[1]?.data).toMatchObject({
      rule: 'HighCpu',
      state: 'firing',
      previousState: 'inactive',
      value: 0.97,
    });
    expect(events[2]?.data).toMatchObject({ id: 'new1', severity: 'critical', service: 'checkout' });

    // Unchanged states and known regressions are not sent again.
    fake.collect();
    const again = await written(text, 'collectionsWritten":3,"pointsWritten":120}\n\nid: 4');
    expect(again.match(/event: alert/g)).toHaveLength(1);
    expect(again.match(/event: regression/g)).toHaveLength(1);

    response.end();
    expect(stream.clientCount).toBe(0);
    stream.close();
  });
});
