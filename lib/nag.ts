import { type App, Stack, Validations } from 'aws-cdk-lib';
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
 * Acknowledges `AwsSolutions-IAM5` for one resource with a wildcard (the objects under one fixed prefix),
 * named the way cdk-nag reports it (`Resource::<LakeBucket1234.Arn>/azure-activity-logs/*`), so the
 * acknowledgement covers that resource and no other. `resource` is the ARN as given to the policy.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  const flat = flattenReference(Stack.of(scope).resolve(resource));
  acknowledge(scope, `AwsSolutions-IAM5[Resource::${flat}]`, reason);
}

/** cdk-nag's notation for a resolved reference: `Fn::Join` joined, `Ref` as `<Id>`, `Fn::GetAtt` as `<Id.Attr>`. */
function flattenReference(node: unknown): string {
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const object = node as Record<string, unknown>;
    const join = object['Fn::Join'];
    if (Array.isArray(join)) {
      const [delimiter, items] = join as [string, unknown[]];
      return items.map(flattenReference).join(delimiter);
    }
    const getAtt = object['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${flattenReference(getAtt[0])}.${flattenReference(getAtt[1])}>`;
    if (object.Ref !== undefined) return `<${flattenReference(object.Ref)}>`;
  }
  return JSON.stringify(node);
}

/**
 * Registers the security gates: cdk-nag's AWS Solutions and NIST 800-53 rev 5 packs as CDK validation
 * plugins, so synthesis fails on any finding that is not acknowledged with a reason.
 */
export function addSecurityChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
}
