import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadRules } from './lambda/engine/rules';
import { AbnormalCloudApiCallsStack } from './lib/abnormal-cloud-api-calls-stack';
import { RULES_DIRECTORY } from './lib/project';
const stack = new AbnormalCloudApiCallsStack(new App(), 'Detector', {
  env: { account: '111122223333', region: 'eu-west-1' },
  rules: await loadRules(RULES_DIRECTORY), rulesDirectory: RULES_DIRECTORY, bundling: false,
  cloudTrailLogs: { bucket: 'org-trail-logs', prefix: 'trail/', organizationId: 'o-abcdefghij', accounts: ['111122223333'] },
});
const t = Template.fromStack(stack).toJSON();
const want = process.argv[2] ?? '';
for (const [id, r] of Object.entries(t.Resources as Record<string, any>)) {
  if (r.Type.match(want)) console.log(id, JSON.stringify(r.Properties, null, 1));
}
