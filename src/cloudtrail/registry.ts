/** The CloudTrail operations keyhold serves. */
import type { CloudTrailOperation } from "./operation.js";
import { createTrail } from "./operations/create-trail.js";
import { deleteTrail } from "./operations/delete-trail.js";
import { describeTrails, getTrail, listTrails } from "./operations/describe-trails.js";
import { getEventSelectors, putEventSelectors } from "./operations/event-selectors.js";
import { listPublicKeys } from "./operations/list-public-keys.js";
import { getTrailStatus, startLogging, stopLogging } from "./operations/logging.js";
import { lookupEvents } from "./operations/lookup-events.js";
import { updateTrail } from "./operations/update-trail.js";

/** botocore (the AWS CLI, boto3) sends the long form, the JavaScript SDK v3 the short one. */
export const CLOUDTRAIL_TARGET_PREFIXES = ["com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101", "CloudTrail_20131101"];
export const CLOUDTRAIL_OPERATIONS: readonly CloudTrailOperation[] = [
  lookupEvents,
  createTrail,
  updateTrail,
  deleteTrail,
  describeTrails,
  getTrail,
  listTrails,
  getTrailStatus,
  startLogging,
  stopLogging,
  putEventSelectors,
  getEventSelectors,
  listPublicKeys,
];
export const CLOUDTRAIL_OPERATIONS_BY_NAME: ReadonlyMap<string, CloudTrailOperation> = new Map(
  CLOUDTRAIL_OPERATIONS.map((op) => [op.name, op]),
);
