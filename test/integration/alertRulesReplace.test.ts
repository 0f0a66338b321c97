import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertProcessor } from '../../src/alerts/AlertProcessor.js';
import { parseRules } from '../../src/alerts/parseRules.js';
import { createApiServer } from '../../src/server/createApiServer.js';
import { resolveApiConfig } from '../../src/server/resolveApiConfig.js';
import { startPerfWatch } from '../../src/startPerfWatch.js';
import { alertEventsSince, ruleStates } from '../../src/store/alertEvents.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { fixtureCollections } from '../helpers/fixtureCollection.js';
import { recordingNotifier } from '../helpers/recordingNotifier.js';
import { tempDir } from '../helpers/tempDir.js';

const T0 = 1_800_000_000;

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

const rules = (yaml: string) => parseRules(`rules:\n${yaml}`);
const DEEP = `  - { name: Deep, selector: { metric: app.queue.depth }, aggregation: last, comparison: '>', threshold: 100 }\n`;
const SHALLOW = `  - { name: Shallow, selector: { metric: app.queue.depth }, aggregation: last, comparison: '<', threshold: 1000, for: 5m }\n`;

describe('AlertProcessor.replaceRules', () => {
  it('keeps the state of rules whose name persists; resolves and reports the alerts of removed rules', async () => {
    const store = await MetricStore.open(dir.file('h.duckdb'));
    try {
      for (const collection of fixtureCollections([
        { metric: 'app.queue.depth', kind: 'gauge', time: T0, value: 500 },
      ]))
        await store.writeCollection(collection);
      let now = T0 * 1000;
      const notifier = recordingNotifier();
      const processor = await AlertProcessor.create({
        rules: rules(DEEP + SHALLOW),
        store,
        notifiers: [notifier],
        now: () => now,
        collectionIntervalSeconds: 30,
      });
      await processor.evaluate();
      expect(processor.statuses().map((s) => [s.rule, s.state])).toEqual([
        ['Deep', 'firing'],
        ['Shallow', 'pending'],
      ]);

      // Shallow keeps its pending state and `for` progress under a new threshold.
      now += 30_000;
      await processor.replaceRules(rules(DEEP + SHALLOW.replace('1000', '2000')));
      expect(processor.statuses().find((s) => s.rule === 'Shallow')).toMatchObject({
        state: 'pending',
        activeAt: T0 * 1000,
      });

      // Deep removed: its firing alert resolves in the history and at the receivers.
      now += 30_000;
      notifier.batches.length = 0;
      await processor.replaceRules(rules(SHALLOW));
      expect(processor.statuses().map((s) => s.rule)).toEqual(['Shallow']);
      const events = await alertEventsSince(store, new Date(0), 'Deep');
      expect(events.map((e) => [e.state, e.previousState])).toEqual([
        ['firing', 'inactive'],
        ['resolved', 'firing'],
      ]);
      expect(notifier.batches).toHaveLength(1);
      expect(notifier.batches[0]!.changed).toMatchObject([
        { status: 'resolved', labels: { alertname: 'Deep' }, endsAt: now },
      ]);
      expect(notifier.batches[0]!.firing).toEqual([]);
      // The trigger count and last triggered time stay with the rule's summary.
      expect((await ruleStates(store)).find((s) => s.rule === 'Deep')).toMatchObject({
        state: 'inactive',
        triggerCount: 1,
      });

      // A disabled rule counts as removed; a new rule starts from inactive.
      await processor.replaceRules(
        rules(`${SHALLOW.replace('Shallow,', 'Shallow, enabled: false,')}${DEEP}`),
      );
      expect(processor.statuses()).toEqual([]);
      expect(await processor.evaluate()).toMatchObject({ rules: 1 });
      expect(processor.statuses().map((s) => [s.rule, s.state])).toEqual([['Deep', 'firing']]);
      await processor.shutdown();
    } finally {
      await store.close();
    }
  });
});

describe('PUT rules', () => {
  const TOKEN = 'test-token-0123456789abcdef';

  async function start(rulesFile: string | undefined) {
    const perfwatch = await startPerfWatch({
      dbPath: dir.file('pw.duckdb'),
      collectionIntervalMillis: 3_600_000,
      prometheusEnabled: false,
      hostMetrics: false,
      runtimeMetrics: false,
      defaultAlertRules: false,
      regressionIntervalMinutes: 0,
      ...(rulesFile === undefined ? {} : { alertRulesPath: rulesFile }),
      logger: captureLogger(),
    });
    const server = await createApiServer(perfwatch, resolveApiConfig({ port: 0, token: TOKEN }, {}));
    const put = (payload: string | object, contentType: string, token: string | null = TOKEN) =>
      server.app.inject({
        method: 'PUT',
        url: '/api/performance/rules',
        headers: {
          'content-type': contentType,
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
    const getRules = async () =>
      (await server.app.inject({ method: 'GET', url: '/api/performance/rules' }))
        .json()
        .data.rules.map((rule: { name: string }) => rule.name);
    return {
      perfwatch,
      put,
      getRules,
      close: async () => {
        await server.close();
        await perfwatch.shutdown();
      },
    };
  }

  it('replaces the rules from YAML or JSON, writes them to the rules file, and starts evaluating them', async () => {
    const file = dir.file('rules.yaml');
    await writeFile(file, `rules:\n${DEEP}`);
    const api = await start(file);
    try {
      const yaml = `# tuned\nrules:\n${SHALLOW}`;
      const response = await api.put(yaml, 'text/yaml');
      expect(response.statusCode).toBe(200);
      expect(response.json().data).toEqual({ persisted: true, rules: ['Shallow'] });
      expect(await api.getRules()).toEqual(['Shallow']);
      // Written as sent (comments kept), replacing the file in one rename.
      expect(await readFile(file, 'utf8')).toBe(yaml);

      const json = {
        rules: [{ name: 'Json', selector: { metric: 'app.x' }, comparison: '>', threshold: 1 }],
      };
      expect((await api.put(json, 'application/json')).json().data).toEqual({
        persisted: true,
        rules: ['Json'],
      });
      expect(parseRules(await readFile(file, 'utf8')).map((rule) => rule.name)).toEqual(['Json']);

      api.perfwatch.registerCollector('queue', {
        metrics: { 'app.x': {} },
        collect: () => [{ metric: 'app.x', value: 5 }],
      });
      await api.perfwatch.forceFlush();
      expect(api.perfwatch.alerts?.statuses()).toMatchObject([{ rule: 'Json', state: 'firing' }]);

      // And SIGHUP's reload reads the file again.
      await writeFile(file, `rules:\n${DEEP}`);
      expect((await api.perfwatch.reloadAlertRules()).map((rule) => rule.name)).toEqual(['Deep']);
      expect(api.perfwatch.alerts?.statuses()).toEqual([]);
    } finally {
      await api.close();
    }
  });

  it('refuses an invalid document naming the rule and the field, and a request without the token; nothing changes', async () => {
    const file = dir.file('rules.yaml');
    const original = `rules:\n${DEEP}`;
    await writeFile(file, original);
    const api = await start(file);
    try {
      const bad = await api.put(`rules:\n${DEEP.replace("'>'", "'=>'")}`, 'application/yaml');
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toMatchObject({
        code: 'PERFWATCH_RULE_INVALID',
        details: { rule: 'Deep', field: 'comparison' },
      });
      const notYaml = await api.put('rules: [', 'text/yaml');
      expect(notYaml.statusCode).toBe(400);
      expect(notYaml.json().error.details).toMatchObject({ field: 'file' });
      const denied = await api.put(`rules:\n${SHALLOW}`, 'text/yaml', null);
      expect(denied.statusCode).toBe(401);
      expect(await api.getRules()).toEqual(['Deep']);
      expect(await readFile(file, 'utf8')).toBe(original);
      // An invalid file on reload is refused too; the running rules stay.
      await writeFile(file, 'rules: [{ name: Deep }]');
      await expect(api.perfwatch.reloadAlertRules()).rejects.toThrow(/rule "Deep"/);
      expect(await api.getRules()).toEqual(['Deep']);
    } finally {
      await api.close();
    }
  });

  it('without a rules file, the rules are in force until the process stops (not persisted)', async () => {
    const api = await start(undefined);
    try {
      expect(api.perfwatch.alerts).toBeUndefined();
      const response = await api.put(`rules:\n${DEEP}`, 'text/yaml');
      expect(response.json().data).toEqual({ persisted: false, rules: ['Deep'] });
      expect(api.perfwatch.alerts).toBeDefined();
      expect(await api.getRules()).toEqual(['Deep']);
    } finally {
      await api.close();
    }
  });
});
