/** CloudTrail operations run against the audit trail's reader. */
import { defineServiceOperation, type Operation, type OperationSpec } from "../operation.js";
import type { AuditStore } from "../audit/store.js";

export type CloudTrailOperation = Operation<AuditStore>;

export function defineCloudTrailOperation<I, O>(spec: OperationSpec<AuditStore, I, O>) {
  return defineServiceOperation<AuditStore, I, O>(spec);
}
