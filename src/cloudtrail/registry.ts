/** The CloudTrail operations keyhold serves. */
import type { CloudTrailOperation } from "./operation.js";
import { lookupEvents } from "./operations/lookup-events.js";

/** botocore (the AWS CLI, boto3) sends the long form, the JavaScript SDK v3 the short one. */
export const CLOUDTRAIL_TARGET_PREFIXES = ["com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101", "CloudTrail_20131101"];
export const CLOUDTRAIL_OPERATIONS: readonly CloudTrailOperation[] = [lookupEvents];
export const CLOUDTRAIL_OPERATIONS_BY_NAME: ReadonlyMap<string, CloudTrailOperation> = new Map(
  CLOUDTRAIL_OPERATIONS.map((op) => [op.name, op]),
);
