/** CloudTrail operations run against the CloudTrail service: the audit trail's reader and the trails. */
import { defineServiceOperation, type Operation, type OperationSpec } from "../operation.js";
import type { CloudTrailService } from "./service.js";

export type CloudTrailOperation = Operation<CloudTrailService>;

export function defineCloudTrailOperation<I, O>(spec: OperationSpec<CloudTrailService, I, O>) {
  return defineServiceOperation<CloudTrailService, I, O>(spec);
}
