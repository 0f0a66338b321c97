import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { MeterProvider } from '@opentelemetry/api';
import type { PerfWatchConfig } from '../config/PerfWatchOptions.js';
import type { Logger } from '../logging/Logger.js';
import { PERFWATCH_VERSION } from '../version.js';
import { AlertmanagerNotifier } from './AlertmanagerNotifier.js';
import type { AlertNotifier } from './AlertNotifier.js';
import { type AlertProcessor, type AlertStore, AlertProcessor as Processor } from './AlertProcessor.js';
import type { AlertRule } from './AlertRule.js';
import { loadRulesFile, parseRules } from './parseRules.js';
import { WebhookNotifier } from './WebhookNotifier.js';

/** The default rules shipped with the package (`alerts/default-rules.yaml`, next to `dist/`). */
export const DEFAULT_RULES_PATH = fileURLToPath(new URL('../../alerts/default-rules.yaml', import.meta.url));

/**
 * The configured rules: the defaults (unless turned off) followed by the rules file. A rule in the
 * file with a default rule's name replaces it, so a default can be tuned without turning all off.
 */
export async function loadConfiguredRules(config: PerfWatchConfig): Promise<AlertRule[]> {
  const own = config.alertRulesPath === undefined ? [] : await loadRulesFile(config.alertRulesPath);
  return combineRules(await defaultRules(config), own);
}

async function defaultRules(config: PerfWatchConfig): Promise<AlertRule[]> {
  return config.defaultAlertRules ? loadRulesFile(DEFAULT_RULES_PATH) : [];
}

function combineRules(defaults: readonly AlertRule[], own: readonly AlertRule[]): AlertRule[] {
  const overridden = new Set(own.map((rule) => rule.name));
  return [...defaults.filter((rule) => !overridden.has(rule.name)), ...own];
}

/**
 * The rules in force with `document` (a rules file's YAML or JSON text) in place of the rules
 * file's rules; the document is validated first (a RuleError names the rule and the field) and,
 * when a rules file is configured, written to it — to a temporary file renamed over it, so a
 * crash leaves the old file or the new one, never half of one. `persisted` says whether it was.
 */
export async function rulesReplacedBy(
  config: PerfWatchConfig,
  document: string,
): Promise<{ rules: AlertRule[]; persisted: boolean }> {
  const path = config.alertRulesPath;
  const own = parseRules(document, 'rules document');
  const rules = combineRules(await defaultRules(config), own);
  if (path === undefined) return { rules, persisted: false };
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, document.endsWith('\n') ? document : `${document}\n`, { flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return { rules, persisted: true };
}

/** The alert processor with the configured receivers, or undefined when there are no rules. */
export async function startAlerting(
  config: PerfWatchConfig,
  rules: readonly AlertRule[],
  deps: { store: AlertStore; meterProvider: MeterProvider; now: () => number; logger: Logger },
): Promise<AlertProcessor | undefined> {
  if (rules.length === 0) return undefined;
  const failed = deps.meterProvider
    .getMeter('perfwatch', PERFWATCH_VERSION)
    .createCounter('perfwatch.alerts.notifications_failed', {
      unit: '{notification}',
      description: 'Alert notifications given up: retries exhausted, queue full, or undelivered at shutdown.',
    });
  const delivery = (receiver: string) => ({
    logger: deps.logger,
    onFailure: (reason: string) => failed.add(1, { receiver, reason }),
  });
  const notifiers: AlertNotifier[] = config.webhookUrls.map(
    (url) => new WebhookNotifier({ url, ...delivery('webhook') }),
  );
  if (config.alertmanagerUrl !== undefined) {
    notifiers.push(new AlertmanagerNotifier({ url: config.alertmanagerUrl, ...delivery('alertmanager') }));
  }
  return Processor.create({
    rules,
    store: deps.store,
    notifiers,
    meterProvider: deps.meterProvider,
    now: deps.now,
    logger: deps.logger,
    collectionIntervalSeconds: config.collectionIntervalMillis / 1000,
  });
}
