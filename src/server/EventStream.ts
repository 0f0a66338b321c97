import type { ServerResponse } from 'node:http';
import type { AlertStatus } from '../alerts/AlertProcessor.js';
import type { Logger } from '../logging/Logger.js';
import type { PerfWatch } from '../startPerfWatch.js';
import { listRegressions } from '../store/regressionRecords.js';

export type StreamEventName = 'collection' | 'alert' | 'regression';

/** Comment lines keep proxies and browsers from closing an idle stream. */
const HEARTBEAT_MILLIS = 15_000;

/**
 * The Server-Sent Events hub of `GET events`: after every written collection (with an OTLP
 * receiver: also at most once a second while received points are written) it sends
 * `collection`, then one `alert` per alert series whose state changed, then one `regression` per
 * regression opened since the last collection. Alert changes are found by comparing the alert
 * processor's in-memory states; new regressions by comparing open ids (read only while a client
 * listens).
 */
export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly alertStates = new Map<string, string>();
  private knownRegressions: Set<string> | undefined;
  private nextId = 1;
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly perfwatch: PerfWatch,
    private readonly logger: Logger,
  ) {
    this.rememberAlerts();
    this.unsubscribe = perfwatch.onCollection(() => {
      this.chain = this.chain
        .then(() => this.afterCollection())
        .catch((error: unknown) => {
          this.logger.warn({ err: error }, 'event stream: could not read what changed');
        });
    });
    this.heartbeat = setInterval(() => this.broadcastRaw(': keep-alive\n\n'), HEARTBEAT_MILLIS);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Takes over the response: headers, a first `retry` line, then events until the client leaves. */
  async attach(response: ServerResponse): Promise<void> {
    if (this.knownRegressions === undefined) {
      // Without the open ids, every open regression would be announced as new on the next collection.
      await this.loadKnownRegressions().catch((error: unknown) =>
        this.logger.warn({ err: error }, 'event stream: could not read the open regressions'),
      );
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    response.write('retry: 5000\n\n');
    this.clients.add(response);
    response.on('close', () => this.clients.delete(response));
  }

  /** Ends every stream (server shutdown) and stops listening to collections. */
  close(): void {
    this.unsubscribe();
    clearInterval(this.heartbeat);
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private async afterCollection(): Promise<void> {
    const status = this.perfwatch.status();
    const received = this.perfwatch.receiver?.status();
    const times = [status.lastCollectionAt, received?.lastWriteAt].filter((time) => time !== undefined);
    this.send('collection', {
      time: (times.length === 0 ? new Date() : new Date(Math.max(...times.map(Number)))).toISOString(),
      collectionsWritten: status.collectionsWritten,
      pointsWritten: status.pointsWritten,
      ...(received === undefined
        ? {}
        : {
            receivedPointsWritten: received.pointsWritten,
            receivedBatchesWritten: received.batchesWritten,
          }),
    });
    for (const change of this.alertChanges()) this.send('alert', change);
    if (this.clients.size > 0) {
      if (this.knownRegressions === undefined) await this.loadKnownRegressions();
      const open = await listRegressions(this.perfwatch.store, { status: 'open' });
      for (const record of open) {
        if (this.knownRegressions?.has(record.id)) continue;
        this.knownRegressions?.add(record.id);
        this.send('regression', {
          id: record.id,
          metric: record.metric,
          service: record.service,
          kind: record.kind,
          severity: record.severity,
          changeTime: record.changeTime.toISOString(),
          explanation: record.explanation,
        });
      }
    }
  }

  private alertChanges(): object[] {
    const changes: object[] = [];
    for (const status of this.perfwatch.alerts?.statuses() ?? []) {
      const key = alertKey(status);
      const previous = this.alertStates.get(key) ?? 'inactive';
      if (previous !== status.state) {
        changes.push({
          rule: status.rule,
          labels: status.labels,
          state: status.state,
          previousState: previous,
          value: status.value,
          severity: status.severity,
        });
      }
      this.alertStates.set(key, status.state);
    }
    return changes;
  }

  private rememberAlerts(): void {
    for (const status of this.perfwatch.alerts?.statuses() ?? [])
      this.alertStates.set(alertKey(status), status.state);
  }

  private async loadKnownRegressions(): Promise<void> {
    const open = await listRegressions(this.perfwatch.store, { status: 'open' });
    this.knownRegressions ??= new Set(open.map((record) => record.id));
  }

  private send(event: StreamEventName, data: object): void {
    this.broadcastRaw(`id: ${this.nextId++}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private broadcastRaw(text: string): void {
    for (const client of this.clients) client.write(text);
  }
}

function alertKey(status: AlertStatus): string {
  return JSON.stringify([status.rule, Object.entries(status.labels).sort(([a], [b]) => a.localeCompare(b))]);
}
