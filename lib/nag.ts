import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag finding on `scope` (and everything below it) with the reason it is accepted.
 * cdk-nag 3 reads CDK's native acknowledgements (`Validations.of(...).acknowledge`); there is no
 * `NagSuppressions` any more. A finding with a detail is acknowledged by its full id
 * (`AwsSolutions-IAM5[Resource::…]`), so each acknowledgement covers exactly one thing.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  if (reason.trim().length < 20) throw new Error(`The acknowledgement of ${id} needs a real reason`);
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * Registers the security gates: cdk-nag's AWS Solutions and NIST 800-53 rev 5 packs as CDK validation
 * plugins, so synthesis fails on any finding that is not acknowledged with a reason.
 */
export function addSecurityChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
}
