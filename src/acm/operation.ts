/** ACM operations are service operations run against the ACM layer. */
import { defineServiceOperation, type Operation, type OperationSpec } from "../operation.js";
import type { AcmService } from "./service.js";

export type AcmOperation = Operation<AcmService>;

/**
 * CloudTrail never records a private key or an export passphrase: ImportCertificate's PrivateKey
 * and ExportCertificate's Passphrase are blobs, and PrivateKey and Passphrase are left out by
 * the audit's redaction wherever they occur (src/audit/record.ts NEVER_LOGGED).
 */
export function defineOperation<I, O>(spec: OperationSpec<AcmService, I, O>) {
  return defineServiceOperation<AcmService, I, O>(spec);
}
