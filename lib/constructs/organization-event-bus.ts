import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export interface OrganizationEventBusProps {
  /** The AWS Organizations id (`o-…`) whose accounts may put events. */
  readonly organizationId: string;
  /**
   * @default 'abnormal-cloud-api-calls-organization'
   */
  readonly eventBusName?: string;
}

/**
 * A custom event bus that member accounts of one AWS Organization forward their CloudTrail events to (with
 * an EventBridge rule of their own). Its resource policy allows `events:PutEvents` to any principal, but
 * only when `aws:PrincipalOrgID` is the organization: no account list to maintain, nobody outside in.
 */
export class OrganizationEventBus extends Construct {
  public readonly eventBus: events.EventBus;

  constructor(scope: Construct, id: string, props: OrganizationEventBusProps) {
    super(scope, id);
    if (!/^o-[a-z0-9]{10,32}$/.test(props.organizationId)) {
      throw new Error(
        `OrganizationEventBusProps.organizationId: "${props.organizationId}" is not an organization id (o-…)`,
      );
    }
    this.eventBus = new events.EventBus(this, 'Bus', {
      eventBusName: props.eventBusName ?? 'abnormal-cloud-api-calls-organization',
      description: `CloudTrail events forwarded by the accounts of ${props.organizationId}`,
    });
    this.eventBus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowPutEventsFromOrganization',
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.eventBus.eventBusArn],
        conditions: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } },
      }),
    );
  }
}
