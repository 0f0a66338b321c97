import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * Conventions of monitoring/perfwatch-rules.yml that promtool does not check. Whether the rules
 * are valid and behave is promtool's job (test/e2e/monitoringStack.test.ts runs it).
 */
const read = (path: string) => readFile(new URL(`../../monitoring/${path}`, import.meta.url), 'utf8');

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

async function rules(): Promise<Rule[]> {
  const file = parse(await read('perfwatch-rules.yml')) as { groups: { rules: Rule[] }[] };
  return file.groups.flatMap((group) => group.rules);
}

const alerts = async () => (await rules()).filter((rule) => rule.alert !== undefined);

describe('monitoring/perfwatch-rules.yml', () => {
  it('names recording rules level:metric:operations', async () => {
    const records = (await rules()).flatMap((rule) => (rule.record ? [rule.record] : []));
    expect(records.length).toBeGreaterThan(5);
    for (const name of records) expect(name).toMatch(/^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/);
  });

  it('gives every alert a CamelCase name, a `for`, a severity and summary, description and runbook', async () => {
    const list = await alerts();
    expect(list.length).toBeGreaterThan(10);
    for (const alert of list) {
      expect(alert.alert).toMatch(/^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+$/);
      expect(alert.for, alert.alert).toMatch(/^\d+[smh]$/);
      expect(alert.labels?.severity, alert.alert).toMatch(
        /^(critical|warning|info|\{\{ \$labels\.severity \}\})$/,
      );
      expect(Object.keys(alert.annotations ?? {}).sort(), alert.alert).toEqual([
        'description',
        'runbook_url',
        'summary',
      ]);
    }
  });

  it('links every alert to its runbook section in monitoring/README.md', async () => {
    const readme = await read('README.md');
    for (const alert of await alerts()) {
      expect(alert.annotations?.runbook_url).toBe(`monitoring/README.md#${alert.alert!.toLowerCase()}`);
      expect(readme, alert.alert).toContain(`\n### ${alert.alert}\n`);
    }
  });

  it('selects the scrape job that monitoring/prometheus.yml defines, everywhere', async () => {
    const config = parse(await read('prometheus.yml')) as { scrape_configs: { job_name: string }[] };
    expect(config.scrape_configs.map((scrape) => scrape.job_name)).toEqual(['perfwatch']);
    const sources = [await read('perfwatch-rules.yml'), await read('grafana/perfwatch-dashboard.json')];
    for (const source of sources) {
      const jobs = [...source.matchAll(/job\s*=~?\s*\\?"([^"\\]*)\\?"/g)].map((match) => match[1]);
      expect(jobs.length).toBeGreaterThan(0);
      expect(new Set(jobs)).toEqual(new Set(['perfwatch']));
    }
  });

  it('has a firing and a quiet unit test for every alert in perfwatch-rules.test.yml', async () => {
    const tests = parse(await read('perfwatch-rules.test.yml')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const alert of await alerts()) {
      const own = cases.filter((testCase) => testCase.alertname === alert.alert);
      expect(
        own.some((testCase) => (testCase.exp_alerts ?? []).length > 0),
        `${alert.alert} firing`,
      ).toBe(true);
      expect(
        own.some((testCase) => (testCase.exp_alerts ?? []).length === 0),
        `${alert.alert} quiet`,
      ).toBe(true);
    }
  });
});
