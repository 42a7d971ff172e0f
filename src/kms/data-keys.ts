/** The data key GenerateDataKey and GenerateDataKeyWithoutPlaintext make: fresh random bytes, encrypted under a KMS key. */
import { randomBytes } from "node:crypto";
import type { CallContext } from "../call.js";
import { ServiceError } from "../errors.js";
import type { EncryptionContext } from "../crypto/encryption-context.js";
import { DATA_KEY_SPECS } from "./key-specs.js";
import type { KmsService } from "./service.js";

export interface DataKeyRequest {
  KeyId?: string;
  KeySpec?: string;
  NumberOfBytes?: number;
  EncryptionContext?: EncryptionContext;
  DryRun?: boolean;
}

export async function generateDataKey(kms: KmsService, call: CallContext, input: DataKeyRequest) {
  // AWS's words for both mistakes, and for a data key asked of an asymmetric key.
  if ((input.KeySpec === undefined) === (input.NumberOfBytes === undefined)) {
    throw new ServiceError("ValidationException", "Please specify either number of bytes or key spec.");
  }
  const key = await kms.resolveKey(call, input.KeyId!, { aliases: true, state: "cryptographic", crossAccount: true });
  if (key.keyUsage !== "ENCRYPT_DECRYPT") throw kms.wrongUsage(key, call.action.slice(4));
  if (key.keySpec !== "SYMMETRIC_DEFAULT") {
    throw new ServiceError("InvalidKeyUsageException", "You cannot generate a data key with an asymmetric CMK");
  }
  if (input.DryRun) throw new ServiceError("DryRunOperationException");
  const plaintext = randomBytes(input.NumberOfBytes ?? DATA_KEY_SPECS[input.KeySpec!]!);
  const { blob, materialId } = await kms.encrypt(key, plaintext, input.EncryptionContext);
  call.trail.additional = { ...call.trail.additional, keyMaterialId: materialId };
  return { key, plaintext, blob, materialId };
}
