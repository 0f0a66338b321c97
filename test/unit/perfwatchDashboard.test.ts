import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { perfwatchDashboard, perfwatchDashboardJson } from '../../monitoring/grafana/perfwatchDashboard.js';

const committed = new URL('../../monitoring/grafana/perfwatch-dashboard.json', import.meta.url);

describe('the Grafana dashboard', () => {
  it('is committed exactly as the code generates it (npm run dashboard)', async () => {
    expect(await readFile(committed, 'utf8')).toBe(perfwatchDashboardJson());
  });

  it('has a Prometheus datasource variable and service → instance variables', () => {
    const variables = perfwatchDashboard().templating?.list ?? [];
    expect(variables.map((variable) => [variable.name, variable.type])).toEqual([
      ['datasource', 'datasource'],
      ['service', 'query'],
      ['instance', 'query'],
    ]);
    expect(variables[0]!.query).toBe('prometheus');
    expect(variables[2]!.query).toContain('service_name=~"$service"');
  });

  it("has the original's twelve panels plus event loop, alerts and regressions", () => {
    const titles = (perfwatchDashboard().panels ?? []).map((panel) => panel.title);
    for (const title of [
      'System CPU utilization',
      'System memory',
      'Load average',
      'Service CPU',
      'Service memory',
      'Response times',
      'Request rate',
      'Error rate',
      'Network I/O',
      'Threads',
      'Open files',
      'Disk usage',
      'Event loop delay',
      'Active alerts',
      'Open regressions',
    ]) {
      expect(titles).toContain(title);
    }
    expect(new Set(titles).size).toBe(titles.length);
  });

  it('queries through the datasource variable and filters every query on the selected instances', () => {
    const panels = (perfwatchDashboard().panels ?? []).filter((panel) => panel.type !== 'row');
    for (const panel of panels) {
      const targets = (panel as { targets?: { expr: string; datasource: { uid: string } }[] }).targets ?? [];
      expect(targets.length, panel.title).toBeGreaterThan(0);
      for (const target of targets) {
        expect(target.datasource.uid, panel.title).toBe(`\${datasource}`);
        expect(target.expr, panel.title).toContain('job="perfwatch", instance=~"$instance"');
      }
    }
  });
});
