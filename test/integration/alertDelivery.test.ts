import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertmanagerNotifier } from '../../src/alerts/AlertmanagerNotifier.js';
import type { AlertNotification } from '../../src/alerts/AlertNotifier.js';
import { DeliveryQueue } from '../../src/alerts/DeliveryQueue.js';
import { WebhookNotifier } from '../../src/alerts/WebhookNotifier.js';
import { captureLogger } from '../helpers/captureLogger.js';

interface Received {
  path: string;
  body: unknown;
}

/** A loopback receiver answering each request with the next status of `statuses` (then 200). */
async function receiver(
  statuses: number[] = [],
): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer(async (request: IncomingMessage, response) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    received.push({ path: request.url ?? '', body: JSON.parse(text) });
    response.statusCode = statuses.shift() ?? 200;
    response.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

const firing: AlertNotification = {
  status: 'firing',
  event: 'firing',
  labels: { alertname: 'QueueBacklog', severity: 'critical', 'service.name': 'checkout' },
  annotations: { summary: 'backlog' },
  value: 170,
  startsAt: Date.UTC(2027, 0, 15, 8, 0),
  endsAt: undefined,
};
const resolved: AlertNotification = {
  ...firing,
  status: 'resolved',
  event: 'resolved',
  endsAt: Date.UTC(2027, 0, 15, 8, 5),
};

describe('alert delivery', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) server.close();
  });

  it('retries a webhook with exponential backoff until the receiver accepts it', async () => {
    const target = await receiver([500, 503]);
    servers.push(target.server);
    const delays: number[] = [];
    const notifier = new WebhookNotifier({
      url: `${target.url}/hook`,
      sleep: async (millis) => {
        delays.push(millis);
      },
    });
    notifier.send({ now: Date.UTC(2027, 0, 15, 8, 0), changed: [firing], firing: [firing] });
    await notifier.forceFlush();
    expect(delays).toEqual([1000, 2000]);
    expect(target.received).toHaveLength(3);
    expect(target.received[2]).toEqual({
      path: '/hook',
      body: {
        version: '4',
        receiver: 'perfwatch',
        status: 'firing',
        time: '2027-01-15T08:00:00.000Z',
        alerts: [
          {
            status: 'firing',
            event: 'firing',
            labels: firing.labels,
            annotations: { summary: 'backlog' },
            value: 170,
            startsAt: '2027-01-15T08:00:00.000Z',
            endsAt: null,
          },
        ],
      },
    });
    await notifier.shutdown();
  });

  it('gives up after the last attempt, and at once on a 4xx, counting the failure', async () => {
    const target = await receiver([500, 500, 500, 400]);
    servers.push(target.server);
    const failures: string[] = [];
    const logger = captureLogger();
    const queue = new DeliveryQueue({
      name: 'test',
      maxAttempts: 3,
      sleep: async () => undefined,
      onFailure: (reason) => failures.push(reason),
      logger,
    });
    queue.enqueue(target.url, { n: 1 });
    queue.enqueue(target.url, { n: 2 });
    await queue.forceFlush();
    expect(target.received.map((r) => r.body)).toEqual([{ n: 1 }, { n: 1 }, { n: 1 }, { n: 2 }]);
    expect(failures).toEqual(['retries_exhausted', 'retries_exhausted']);
    expect(logger.entries.filter((e) => e.message.includes('gave up'))).toHaveLength(2);
  });

  it('never blocks: a full queue drops its oldest waiting request', async () => {
    const failures: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const target = await receiver([500]);
    servers.push(target.server);
    const queue = new DeliveryQueue({
      name: 'test',
      maxQueued: 2,
      sleep: () => gate,
      onFailure: (reason) => failures.push(reason),
    });
    for (let n = 1; n <= 4; n++) queue.enqueue(target.url, { n });
    expect(queue.size).toBe(2);
    expect(failures).toEqual(['queue_full', 'queue_full']);
    release();
    await queue.forceFlush();
    expect(target.received.map((r) => r.body)).toEqual([{ n: 1 }, { n: 1 }, { n: 4 }]);
  });

  it('shutdown gives up what it cannot deliver in time, interrupting a backoff wait', async () => {
    const target = await receiver([500]);
    servers.push(target.server);
    const failures: string[] = [];
    const logger = captureLogger();
    let waiting: () => void = () => undefined;
    const backingOff = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const queue = new DeliveryQueue({
      name: 'test',
      // A backoff that only an abort ends.
      sleep: (_millis, signal) => {
        waiting();
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        );
      },
      shutdownTimeoutMillis: 1,
      onFailure: (reason) => failures.push(reason),
      logger,
    });
    queue.enqueue(target.url, { n: 1 });
    queue.enqueue(target.url, { n: 2 });
    await backingOff;
    await queue.shutdown();
    expect(target.received.map((r) => r.body)).toEqual([{ n: 1 }]);
    expect(failures).toEqual(['shutdown', 'shutdown']);
    expect(logger.entries.map((e) => e.message)).toContain(
      'shutting down with undelivered alert notifications',
    );
    queue.enqueue(target.url, { n: 3 });
    expect(failures).toEqual(['shutdown', 'shutdown', 'shutdown']);
  });

  it('posts Alertmanager v2 alerts with sanitised labels, resends firing ones and ends resolved ones', async () => {
    const target = await receiver();
    servers.push(target.server);
    const notifier = new AlertmanagerNotifier({ url: `${target.url}/`, resendIntervalMillis: 60_000 });
    const t = firing.startsAt;
    notifier.send({ now: t, changed: [firing], firing: [firing] });
    notifier.send({ now: t + 30_000, changed: [], firing: [firing] }); // not due yet
    notifier.send({ now: t + 60_000, changed: [], firing: [firing] }); // resend
    notifier.send({ now: t + 90_000, changed: [resolved], firing: [] });
    await notifier.forceFlush();
    expect(target.received.map((r) => r.path)).toEqual([
      '/api/v2/alerts',
      '/api/v2/alerts',
      '/api/v2/alerts',
    ]);
    const [first, resent, ended] = target.received.map((r) => (r.body as Record<string, unknown>[])[0]!);
    expect(first).toEqual({
      labels: { alertname: 'QueueBacklog', severity: 'critical', service_name: 'checkout' },
      annotations: { summary: 'backlog' },
      startsAt: '2027-01-15T08:00:00.000Z',
      endsAt: '2027-01-15T08:04:00.000Z',
      generatorURL: 'perfwatch://alerts/QueueBacklog',
    });
    expect(resent!.endsAt).toBe('2027-01-15T08:05:00.000Z');
    expect(ended!.endsAt).toBe('2027-01-15T08:05:00.000Z');
    await notifier.shutdown();
  });
});
