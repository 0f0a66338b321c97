import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type PerfWatch, startPerfWatch } from '../../src/startPerfWatch.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { freePort } from '../helpers/freePort.js';
import { tempDir } from '../helpers/tempDir.js';

const ALERTMANAGER = 'prometheus-alertmanager';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  status: { state: string };
}

/**
 * A real Alertmanager (Debian's `prometheus-alertmanager`, installed by .ci/run) receives
 * perfwatch's alerts: perfwatch runs with a rules file and `alertmanagerUrl`, a custom collector
 * drives the value, and each forceFlush collects, evaluates and delivers.
 */
describe('a real Alertmanager receiving perfwatch alerts', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let perfwatch: PerfWatch;
  let alertmanager: ChildProcess;
  let alertmanagerUrl: string;
  /** Alertmanager's clock minus ours, from its `Date` header (whole seconds). */
  let clockSkewMillis = 0;
  let depth = 0;

  beforeAll(async () => {
    if (spawnSync(ALERTMANAGER, ['--version']).error) {
      throw new Error(
        `${ALERTMANAGER} is missing: apt-get install prometheus-alertmanager (as .ci/run does)`,
      );
    }
    dir = await tempDir();
    await writeFile(
      dir.file('alertmanager.yml'),
      'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n',
    );
    const port = await freePort();
    alertmanagerUrl = `http://127.0.0.1:${port}`;
    alertmanager = spawn(
      ALERTMANAGER,
      [
        `--config.file=${dir.file('alertmanager.yml')}`,
        `--storage.path=${dir.file('am-data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // No cluster: it would listen on 0.0.0.0:9094.
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    await vi.waitFor(
      async () => {
        if (alertmanager.exitCode !== null)
          throw new Error(`alertmanager exited with ${alertmanager.exitCode}`);
        const response = await fetch(`${alertmanagerUrl}/-/ready`);
        expect(response.status).toBe(200);
        clockSkewMillis = Date.parse(response.headers.get('date') ?? '') - Date.now();
      },
      { timeout: 15_000, interval: 100 },
    );

    await writeFile(
      dir.file('rules.yaml'),
      [
        'rules:',
        '  - name: QueueBacklog',
        '    description: Too many messages waiting.',
        '    selector: { metric: app.queue.depth, where: { queue: emails } }',
        '    aggregation: last',
        '    window: 1m',
        '    group_by: [queue]',
        "    comparison: '>'",
        '    threshold: 100',
        '    severity: critical',
        '    labels: { team: messaging }',
        '    annotations:',
        "      summary: 'queue {{ $labels.queue }} holds {{ $value }} messages'",
        '      runbook_url: https://runbooks.example/queues',
        '',
      ].join('\n'),
    );
    perfwatch = await startPerfWatch({
      dbPath: dir.file('h.duckdb'),
      serviceName: 'alerting-test',
      collectionIntervalMillis: 3_600_000,
      prometheusEnabled: false,
      hostMetrics: false,
      runtimeMetrics: false,
      defaultAlertRules: false,
      alertRulesPath: dir.file('rules.yaml'),
      alertmanagerUrl,
      logger: captureLogger(),
    });
    perfwatch.registerCollector('queues', {
      metrics: { 'app.queue.depth': { unit: '{message}' } },
      collect: () => [{ metric: 'app.queue.depth', value: depth, attributes: { queue: 'emails' } }],
    });
  }, 30_000);

  afterAll(async () => {
    await perfwatch?.shutdown();
    if (alertmanager && alertmanager.exitCode === null) {
      alertmanager.kill('SIGTERM');
      await once(alertmanager, 'exit');
    }
    await dir?.cleanup();
  });

  async function alerts(): Promise<AmAlert[]> {
    const response = await fetch(`${alertmanagerUrl}/api/v2/alerts`);
    expect(response.status).toBe(200);
    return (await response.json()) as AmAlert[];
  }

  it('shows a firing rule with its labels and annotations, then resolves it', async (context) => {
    // Alertmanager judges perfwatch's startsAt/endsAt by its own clock. Under faketime (.ci/test-faketime)
    // the clocks differ by a year: libfaketime reaches node, but not a Go program, which reads the
    // time through the vDSO.
    context.skip(
      Math.abs(clockSkewMillis) > 60_000,
      `Alertmanager's clock is ${Math.round(clockSkewMillis / 1000)} s from ours (faketime?)`,
    );
    depth = 250;
    await perfwatch.forceFlush();
    expect(perfwatch.alerts?.statuses()).toMatchObject([
      { rule: 'QueueBacklog', state: 'firing', value: 250 },
    ]);
    await vi.waitFor(async () => expect(await alerts()).toHaveLength(1), { timeout: 10_000, interval: 100 });
    const [alert] = await alerts();
    expect(alert!.labels).toEqual({
      alertname: 'QueueBacklog',
      severity: 'critical',
      team: 'messaging',
      queue: 'emails',
    });
    expect(alert!.annotations).toEqual({
      description: 'Too many messages waiting.',
      summary: 'queue emails holds 250 messages',
      runbook_url: 'https://runbooks.example/queues',
    });
    expect(alert!.status.state).toBe('active');
    expect(alert!.generatorURL).toBe('perfwatch://alerts/QueueBacklog');
    expect(Date.parse(alert!.endsAt)).toBeGreaterThan(Date.now());

    // The next collection records perfwatch.alerts.active as the evaluation left it.
    await perfwatch.forceFlush();
    const active = await perfwatch.store.query(
      `SELECT Attributes AS attrs, Value AS value FROM otel_metrics_gauge
       WHERE MetricName = 'perfwatch.alerts.active' ORDER BY TimeUnix DESC LIMIT 1`,
    );
    expect(active).toEqual([{ attrs: { alertname: 'QueueBacklog', severity: 'critical' }, value: 1 }]);

    depth = 3;
    await perfwatch.forceFlush();
    expect(perfwatch.alerts?.statuses()).toMatchObject([{ rule: 'QueueBacklog', state: 'inactive' }]);
    // A resolved alert (endsAt reached) leaves Alertmanager's list of current alerts.
    await vi.waitFor(async () => expect(await alerts()).toEqual([]), { timeout: 10_000, interval: 100 });
  });
});
