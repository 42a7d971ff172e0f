/** CloudTrail operations run against the audit trail's reader. */
import { defineServiceOperation, type Operation, type OperationSpec } from "../operation.js";
import type { AuditReader } from "../audit/queries.js";

export type CloudTrailOperation = Operation<AuditReader>;

export function defineCloudTrailOperation<I, O>(spec: OperationSpec<AuditReader, I, O>) {
  return defineServiceOperation<AuditReader, I, O>(spec);
}
