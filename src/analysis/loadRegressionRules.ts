import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { PerfWatchConfig } from '../config/PerfWatchOptions.js';
import { type RegressionRule, RegressionRuleError, validateRegressionRules } from './metricPolicy.js';

/**
 * Regression rules from a YAML or JSON file: `{ regressions: [ {metric, worse, minEffect,
 * enabled}, … ] }` or the list itself. Errors name the file, the rule and the field.
 */
export async function loadRegressionRules(path: string): Promise<RegressionRule[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new RegressionRuleError(-1, 'file', `${path}: cannot read it: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    // YAML 1.2 is a superset of JSON: one parser reads both.
    document = parseYaml(text, { uniqueKeys: true });
  } catch (error) {
    throw new RegressionRuleError(-1, 'file', `${path}: not valid YAML or JSON: ${(error as Error).message}`);
  }
  const rules =
    document !== null && typeof document === 'object' && !Array.isArray(document) && 'regressions' in document
      ? (document as { regressions: unknown }).regressions
      : document;
  try {
    return validateRegressionRules(rules);
  } catch (error) {
    if (error instanceof RegressionRuleError)
      throw new RegressionRuleError(-1, 'file', `${path}: ${error.message}`);
    throw error;
  }
}

/** The configured rules: the file's (`regressionRulesPath`), then the option's; later rules win. */
export async function configuredRegressionRules(
  config: Pick<PerfWatchConfig, 'regressionRulesPath' | 'regressionRules'>,
): Promise<RegressionRule[]> {
  const fromFile =
    config.regressionRulesPath === undefined ? [] : await loadRegressionRules(config.regressionRulesPath);
  return [...fromFile, ...config.regressionRules];
}
