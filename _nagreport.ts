import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { loadRules } from './lambda/engine/rules';
import { addDetectorStacks } from './lib/detector-app';
import { addSecurityChecks } from './lib/nag';
import { RULES_DIRECTORY } from './lib/project';

const outdir = mkdtempSync(path.join(tmpdir(), 'nagr-'));
const app = new App({ outdir });
addDetectorStacks(app, {
  settings: {
    account: '111122223333', homeRegion: 'eu-west-1', alertEmails: [], opsEmails: [],
    cloudTrailLogs: { bucket: 'org-trail-logs', prefix: 'trail/', organizationId: 'o-abcdefghij', accounts: ['111122223333'], regions: ['us-east-1'], kmsKeyArn: 'arn:aws:kms:eu-west-1:999988887777:key/11111111-2222-3333-4444-555555555555', startDate: '2025-01-01' },
    sweepLagMinutes: 15, athenaBytesScannedCutoffGiB: 10, bundling: false,
  },
  rules: await loadRules(RULES_DIRECTORY),
  rulesDirectory: RULES_DIRECTORY,
});
addSecurityChecks(app);
try { app.synth(); } catch (e) { console.log('SYNTH FAILED', (e as Error).message.slice(0, 3000)); }
const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
console.log(JSON.stringify(report, null, 1).slice(0, 6000));
console.log(outdir);
