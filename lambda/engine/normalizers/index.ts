/**
 * The normalizers: decode transport wrappers, turn vendor records into the ECS profile of DESIGN.md,
 * and expose the catalog to the rule lint and the pre-filter compilers.
 */
export { normalizeAzureActivity, prepareAzureActivity } from './azure-activity';
export {
  AWS_INSIGHTS,
  type AwsServiceEntry,
  type AzureNamespaceEntry,
  awsService,
  azureNamespace,
  catalogEntryIds,
  FALLBACK_ENTRY,
  type FieldDomain,
  GCP_IAM_POLICY_WRITE,
  type GcpServiceEntry,
  gcpService,
  isSetIamPolicyMethod,
  PASSTHROUGH_ENTRY,
  producibleActions,
  producibleValues,
} from './catalog';
export { normalizeCloudTrail, prepareCloudTrail } from './cloudtrail';
export { TIMESTAMP_PARSE_FAILURE_TAG, UNPARSED_TIMESTAMP } from './common';
export {
  type DecodedRecord,
  type DecodeFailure,
  type DocumentShapes,
  detectSource,
  normalize,
  prepare,
  recordsFromDocument,
  STREAM_SHAPES,
} from './decode';
export { CatalogError, NormalizationError } from './errors';
export { normalizeGcpAudit, prepareGcpAudit } from './gcp-audit';
export {
  RAW_FIELDS,
  type RawMatch,
  type RawMatchOp,
  rawMatchesFor,
  rawMatchHolds,
  rawValuesFor,
} from './raw-fields';
