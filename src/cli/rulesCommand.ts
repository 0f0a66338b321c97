import type { Command } from 'commander';
import { loadRulesFile } from '../alerts/parseRules.js';
import { DEFAULT_RULES_PATH } from '../alerts/startAlerting.js';

/** `perfwatch rules check FILE`: validates a rules file without opening any history. */
export function registerRulesCommand(program: Command): void {
  const rules = program.command('rules').description('alert rules files');
  rules
    .command('check')
    .description(
      `validate a rules file (YAML or JSON); exit 2 naming the rule and field when invalid. Defaults: ${DEFAULT_RULES_PATH}`,
    )
    .argument('<file>', 'rules file')
    .action(async (file: string) => {
      const loaded = await loadRulesFile(file);
      const enabled = loaded.filter((rule) => rule.enabled).length;
      const lines = loaded.map(
        (rule) =>
          `  ${rule.name}: ${rule.severity}, ${rule.aggregation} ${rule.query.kind === 'ratio' ? 'ratio' : rule.query.selector.metric} ${rule.comparison} ${rule.threshold}` +
          `${rule.forMillis > 0 ? ` for ${rule.forMillis / 1000} s` : ''}${rule.enabled ? '' : ' (disabled)'}`,
      );
      process.stdout.write(
        `${file}: ${loaded.length} rules valid, ${enabled} enabled\n${lines.join('\n')}\n`,
      );
    });
}
