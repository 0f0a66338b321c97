import { type Command, Option } from 'commander';
import {
  type AlertEventRecord,
  alertEventsSince,
  latestAlertEvents,
  ruleStates,
} from '../store/alertEvents.js';
import { HistoryReader } from '../store/HistoryReader.js';
import { formatTable, jsonValue } from './formatRows.js';
import { historyPath, openForReading } from './openHistory.js';
import { parseDuration } from './timeArguments.js';

const STATES = ['pending', 'firing', 'resolved', 'inactive', 'nodata'] as const;

interface ListFlags {
  db?: string;
  state?: (typeof STATES)[number];
  json?: boolean;
}

interface HistoryFlags {
  db?: string;
  since: string;
  rule?: string;
  json?: boolean;
}

/** `perfwatch alerts [list]` and `perfwatch alerts history`: the alert states and transitions in a history file. */
export function registerAlertsCommand(program: Command): void {
  const alerts = program
    .command('alerts')
    .description('alert states and transitions recorded in the history (perfwatch stopped, or a snapshot)');
  alerts
    .command('list', { isDefault: true })
    .description('every alert series with its current state, and per rule how often it fired')
    .option('--db <path>', 'history file (env PERFWATCH_DB_PATH, default ./data/perfwatch.duckdb)')
    .addOption(new Option('--state <state>', 'only alerts in this state').choices(STATES))
    .option('--json', 'JSON output')
    .action(async (flags: ListFlags) => {
      const reader = await openForReading(historyPath(flags.db), (path) => HistoryReader.open(path));
      try {
        const latest = (await latestAlertEvents(reader)).filter(
          (event) => flags.state === undefined || event.state === flags.state,
        );
        const rules = await ruleStates(reader);
        if (flags.json) {
          process.stdout.write(
            `${JSON.stringify({ alerts: latest.map(eventJson), rules: rules.map((rule) => jsonValue(rule)) }, null, 2)}\n`,
          );
          return;
        }
        const rows = latest.map((event) => ({
          rule: event.rule,
          severity: event.severity,
          state: event.state,
          labels: labelsText(event.labels),
          value: event.value,
          since: new Date(event.time).toISOString(),
        }));
        process.stdout.write(
          `${formatTable(['rule', 'severity', 'state', 'labels', 'value', 'since'], rows)}\n`,
        );
        if (flags.state === undefined && rules.length > 0) {
          const summary = rules.map((rule) => ({
            rule: rule.rule,
            state: rule.state,
            trigger_count: rule.triggerCount,
            last_triggered: rule.lastTriggered?.toISOString() ?? null,
          }));
          process.stdout.write(
            `\n${formatTable(['rule', 'state', 'trigger_count', 'last_triggered'], summary)}\n`,
          );
        }
      } finally {
        reader.close();
      }
    });
  alerts
    .command('history')
    .description('alert transitions, oldest first')
    .option('--db <path>', 'history file (env PERFWATCH_DB_PATH, default ./data/perfwatch.duckdb)')
    .option('--since <duration>', 'how far back, e.g. 1h, 7d', '24h')
    .option('--rule <name>', 'only this rule')
    .option('--json', 'JSON output')
    .action(async (flags: HistoryFlags) => {
      const since = new Date(Date.now() - parseDuration('--since', flags.since) * 1000);
      const reader = await openForReading(historyPath(flags.db), (path) => HistoryReader.open(path));
      try {
        const events = await alertEventsSince(reader, since, flags.rule);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ events: events.map(eventJson) }, null, 2)}\n`);
          return;
        }
        const rows = events.map((event) => ({
          time: new Date(event.time).toISOString(),
          rule: event.rule,
          labels: labelsText(event.labels),
          transition: `${event.previousState} → ${event.state}`,
          value: event.value,
        }));
        process.stdout.write(`${formatTable(['time', 'rule', 'labels', 'transition', 'value'], rows)}\n`);
      } finally {
        reader.close();
      }
    });
}

function labelsText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

function eventJson(event: AlertEventRecord) {
  const time = (millis: number | undefined) => (millis === undefined ? null : new Date(millis).toISOString());
  return {
    rule: event.rule,
    severity: event.severity,
    labels: event.labels,
    state: event.state,
    previousState: event.previousState,
    value: event.value,
    time: time(event.time),
    activeAt: time(event.activeAt),
    firedAt: time(event.firedAt),
  };
}
