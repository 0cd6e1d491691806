#!/usr/bin/env node
/**
 * The CDK app: reads the settings from context, loads the rules, adds the stacks and the security gates.
 * Run by the CDK CLI (`npx cdk synth`, see cdk.json); README.md ("Settings") lists the settings.
 */
import { App } from 'aws-cdk-lib';
import { loadRules } from '../lambda/engine/rules';
import { addDetectorStacks } from '../lib/detector-app';
import { addSecurityChecks } from '../lib/nag';
import { RULES_DIRECTORY } from '../lib/project';
import { readSettings, SettingsError } from '../lib/settings';

const app = new App();
try {
  const settings = readSettings(app.node, process.env);
  const rules = await loadRules(RULES_DIRECTORY);
  addDetectorStacks(app, { settings, rules, rulesDirectory: RULES_DIRECTORY });
  addSecurityChecks(app);
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
