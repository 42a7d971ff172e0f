/** ACM Private CA operations are service operations run against the ACM PCA layer. */
import { defineServiceOperation, type Operation, type OperationSpec } from "../operation.js";
import type { AcmPcaService } from "./service.js";

export type AcmPcaOperation = Operation<AcmPcaService>;

export function defineOperation<I, O>(spec: OperationSpec<AcmPcaService, I, O>) {
  return defineServiceOperation<AcmPcaService, I, O>(spec);
}
