/** KMS operations are service operations run against the KMS layer. */
import { defineServiceOperation, type Operation, type OperationSpec } from "../operation.js";
import type { KmsService } from "./service.js";

export type KmsOperation = Operation<KmsService>;

export function defineOperation<I, O>(spec: OperationSpec<KmsService, I, O>) {
  return defineServiceOperation<KmsService, I, O>(spec);
}
