import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RULES_PATH } from '../../src/alerts/startAlerting.js';
import { alertEventStatements } from '../../src/store/alertEvents.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { runCli, spawnCli, stderrContaining, stopCli } from '../helpers/runCli.js';
import { tempDir } from '../helpers/tempDir.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

const invalid = [
  'rules:',
  '  - name: QueueBacklog',
  '    selector: { metric: app.queue.depth }',
  "    comparison: '>'",
  '    threshold: 100',
  '    for: -5m',
  '',
].join('\n');

describe('perfwatch rules check', () => {
  it('exits 0 with a summary for a valid file (the shipped defaults)', async () => {
    const result = await runCli(['rules', 'check', DEFAULT_RULES_PATH]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('9 rules valid, 9 enabled');
    expect(result.stdout).toContain('HighCpuUsage: warning, avg system.cpu.utilization < 0.1 for 300 s');
  });

  it('exits 2 naming the rule and the field of an invalid file', async () => {
    await writeFile(dir.file('rules.yaml'), invalid);
    const result = await runCli(['rules', 'check', dir.file('rules.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe(
      `perfwatch: ${dir.file('rules.yaml')}: rule "QueueBacklog": for: must be a duration such as 30s, 5m, 1h`,
    );
  });

  it('start documents the alert flags', async () => {
    const help = await runCli(['start', '--help']);
    expect(help.code).toBe(0);
    for (const flag of [
      '--rules <file>',
      '--no-default-rules',
      '--alertmanager-url <url>',
      '--webhook-url <url>',
    ])
      expect(help.stdout).toContain(flag);
  });

  it('start refuses an invalid rules file before creating the history file', async () => {
    await writeFile(dir.file('rules.yaml'), invalid);
    const result = await runCli(['start', '--db', dir.file('h.duckdb'), '--no-prometheus'], {
      PERFWATCH_ALERT_RULES: dir.file('rules.yaml'),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('rule "QueueBacklog": for: must be a duration');
    expect(existsSync(dir.file('h.duckdb'))).toBe(false);
  });
});

describe('perfwatch start: SIGHUP', () => {
  it('reloads the rules file; an invalid one is refused and the running rules stay', async () => {
    const rules = dir.file('rules.yaml');
    const rule = (name: string) =>
      `rules:\n  - { name: ${name}, selector: { metric: app.queue.depth }, comparison: '>', threshold: 1 }\n`;
    await writeFile(rules, rule('First'));
    const child = spawnCli(
      ['start', '--db', dir.file('h.duckdb'), '--interval', '3600', '--no-prometheus', '--no-api'],
      { PERFWATCH_ALERT_RULES: rules, PERFWATCH_DEFAULT_ALERT_RULES: 'false' },
    );
    try {
      await stderrContaining(child, 'Ctrl-C to stop');
      await writeFile(rules, rule('First') + rule('Second').replace('rules:\n', ''));
      child.kill('SIGHUP');
      await stderrContaining(child, 'alert rules reloaded (2 rules)');
      await writeFile(rules, invalid);
      child.kill('SIGHUP');
      const stderr = await stderrContaining(child, 'alert rules not reloaded');
      expect(stderr).toContain('rule "QueueBacklog": for: must be a duration');
    } finally {
      await stopCli(child);
    }
  }, 60_000);
});

describe('perfwatch alerts', () => {
  it('lists current alert states and rule counts, and the transition history', async () => {
    const path = dir.file('h.duckdb');
    const store = await MetricStore.open(path);
    const t = Date.now() - 600_000;
    const base = { rule: 'QueueBacklog', severity: 'critical', value: 150 };
    const emails = { seriesKey: '[["queue","emails"]]', labels: { queue: 'emails' } };
    const sms = { seriesKey: '[["queue","sms"]]', labels: { queue: 'sms' } };
    await store.execute(
      alertEventStatements(
        [
          {
            ...base,
            ...emails,
            time: t,
            state: 'pending',
            previousState: 'inactive',
            activeAt: t,
            firedAt: undefined,
          },
          {
            ...base,
            ...sms,
            time: t,
            state: 'pending',
            previousState: 'inactive',
            activeAt: t,
            firedAt: undefined,
          },
        ],
        [{ rule: 'QueueBacklog', state: 'pending', severity: 'critical', fired: 0, time: t }],
      ),
    );
    await store.execute(
      alertEventStatements(
        [
          {
            ...base,
            ...emails,
            time: t + 60_000,
            state: 'firing',
            previousState: 'pending',
            activeAt: t,
            firedAt: t + 60_000,
          },
          {
            ...base,
            ...sms,
            time: t + 60_000,
            state: 'inactive',
            previousState: 'pending',
            value: 20,
            activeAt: undefined,
            firedAt: undefined,
          },
        ],
        [{ rule: 'QueueBacklog', state: 'firing', severity: 'critical', fired: 1, time: t + 60_000 }],
      ),
    );
    await store.close();

    const firing = await runCli(['alerts', '--db', path, '--state', 'firing', '--json']);
    expect(firing.code).toBe(0);
    const listed = JSON.parse(firing.stdout) as { alerts: unknown[]; rules: unknown[] };
    expect(listed.alerts).toEqual([
      {
        rule: 'QueueBacklog',
        severity: 'critical',
        labels: { queue: 'emails' },
        state: 'firing',
        previousState: 'pending',
        value: 150,
        time: new Date(t + 60_000).toISOString(),
        activeAt: new Date(t).toISOString(),
        firedAt: new Date(t + 60_000).toISOString(),
      },
    ]);
    expect(listed.rules).toEqual([
      {
        rule: 'QueueBacklog',
        state: 'firing',
        severity: 'critical',
        triggerCount: 1,
        lastTriggered: new Date(t + 60_000).toISOString(),
        updatedAt: new Date(t + 60_000).toISOString(),
      },
    ]);

    const table = await runCli(['alerts', 'list', '--db', path]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/QueueBacklog\s+critical\s+firing\s+queue=emails\s+150/);
    expect(table.stdout).toMatch(/QueueBacklog\s+critical\s+inactive\s+queue=sms\s+20/);
    expect(table.stdout).toMatch(/QueueBacklog\s+firing\s+1\s+/);

    const history = await runCli(['alerts', 'history', '--db', path, '--since', '1h', '--json']);
    expect(history.code).toBe(0);
    const { events } = JSON.parse(history.stdout) as { events: { labels: object; state: string }[] };
    expect(events.map((e) => [e.labels, e.state])).toEqual([
      [{ queue: 'emails' }, 'pending'],
      [{ queue: 'sms' }, 'pending'],
      [{ queue: 'emails' }, 'firing'],
      [{ queue: 'sms' }, 'inactive'],
    ]);
    const recent = await runCli(['alerts', 'history', '--db', path, '--since', '5m']);
    expect(recent.stdout.trim().split('\n')).toHaveLength(2); // the header and its rule line, no events
  });
});
