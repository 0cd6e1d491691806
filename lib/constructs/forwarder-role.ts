import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';

/** Tokens from Microsoft Entra ID for one identity of one tenant (Azure Functions, managed identity). */
export interface AzureForwarderIdentity {
  readonly provider: 'azure';
  readonly tenantId: string;
  /** The `aud` claim; also registered as the OIDC provider's client id. */
  readonly audience: string;
  /** The `sub` claim: the object id of the managed identity or service principal. */
  readonly subject: string;
  /**
   * `v1`: issuer `https://sts.windows.net/<tenantId>/`; `v2`: `https://login.microsoftonline.com/<tenantId>/v2.0`.
   * @default 'v1'
   */
  readonly issuer?: 'v1' | 'v2';
}

/** Google-signed ID tokens of one service account (AWS trusts `accounts.google.com` natively). */
export interface GcpForwarderIdentity {
  readonly provider: 'gcp';
  /** The audience the forwarder requests; in the token's `aud`, which IAM calls `accounts.google.com:oaud`. */
  readonly audience: string;
  /** The service account's unique numeric id: the token's `sub` and `azp`. */
  readonly subject: string;
}

export type ForwarderIdentity = AzureForwarderIdentity | GcpForwarderIdentity;

export interface ForwarderRoleProps {
  /** Who may assume the role. */
  readonly identity: ForwarderIdentity;
  /** The only stream the role may write to. */
  readonly stream: kinesis.IStream;
  /** The stream's encryption key; the role may generate data keys with it, nothing else. */
  readonly streamKey: kms.IKey;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The role an Azure or GCP forwarder assumes with `AssumeRoleWithWebIdentity`: no IAM user, no access key.
 * The trust policy pins the token's issuer, audience and subject; the permissions allow writing records to
 * one stream (`PutRecord`, `PutRecords`, `DescribeStreamSummary`) and encrypting them with its key.
 *
 * For Google service-account ID tokens, which carry `azp`, IAM maps `accounts.google.com:aud` to `azp` (the
 * service account id) and `accounts.google.com:oaud` to the token's `aud`, so the trust pins `aud` and
 * `sub` to the service account id and `oaud` to the requested audience.
 */
export class ForwarderRole extends Construct {
  public readonly role: iam.Role;
  /** The IAM OIDC provider created for Entra ID (Google needs none). */
  public readonly oidcProvider?: iam.OidcProviderNative;

  constructor(scope: Construct, id: string, props: ForwarderRoleProps) {
    super(scope, id);
    const { identity } = props;
    for (const [field, value] of Object.entries({ audience: identity.audience, subject: identity.subject })) {
      if (!/^[^\s*?"\\]{1,255}$/.test(value)) {
        throw new Error(
          `ForwarderRoleProps.identity.${field} must be non-empty, without spaces, quotes or wildcards`,
        );
      }
    }

    let principal: iam.IPrincipal;
    if (identity.provider === 'azure') {
      if (!GUID.test(identity.tenantId))
        throw new Error('ForwarderRoleProps.identity.tenantId must be a GUID');
      const issuer =
        (identity.issuer ?? 'v1') === 'v1'
          ? `sts.windows.net/${identity.tenantId}/`
          : `login.microsoftonline.com/${identity.tenantId}/v2.0`;
      this.oidcProvider = new iam.OidcProviderNative(this, 'EntraIdProvider', {
        url: `https://${issuer}`,
        clientIds: [identity.audience],
      });
      principal = new iam.WebIdentityPrincipal(this.oidcProvider.oidcProviderArn, {
        StringEquals: { [`${issuer}:aud`]: identity.audience, [`${issuer}:sub`]: identity.subject },
      });
    } else {
      if (!/^\d{10,30}$/.test(identity.subject)) {
        throw new Error(
          "ForwarderRoleProps.identity.subject must be the service account's numeric unique id",
        );
      }
      principal = new iam.WebIdentityPrincipal('accounts.google.com', {
        StringEquals: {
          'accounts.google.com:aud': identity.subject,
          'accounts.google.com:oaud': identity.audience,
          'accounts.google.com:sub': identity.subject,
        },
      });
    }

    this.role = new iam.Role(this, 'Role', {
      assumedBy: principal,
      description: `Writes ${identity.provider === 'azure' ? 'Azure Activity' : 'GCP Audit'} log records to one Kinesis stream`,
      maxSessionDuration: Duration.hours(1),
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteRecordsToItsStream',
        actions: ['kinesis:PutRecord', 'kinesis:PutRecords', 'kinesis:DescribeStreamSummary'],
        resources: [props.stream.streamArn],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptRecordsWithTheStreamKey',
        actions: ['kms:GenerateDataKey'],
        resources: [props.streamKey.keyArn],
      }),
    );
    acknowledge(
      this.role,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      'The policy belongs to this one forwarder role and allows writing to one stream; an inline policy keeps it ' +
        'from being attached to any other principal.',
    );
  }
}
