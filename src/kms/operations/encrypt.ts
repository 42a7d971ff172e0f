import type { EncryptRequest, EncryptResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { DryRun, EncryptionAlgorithm, EncryptionContext, GrantTokens, KeyId, Plaintext } from "../shapes.js";

export const encrypt = defineOperation<EncryptRequest, EncryptResponse>({
  name: "Encrypt",
  description: "Encrypt up to 4096 bytes under a symmetric key (bound to an encryption context) or with RSA-OAEP.",
  readOnly: true,
  input: struct({ KeyId, Plaintext, EncryptionContext, GrantTokens, EncryptionAlgorithm, DryRun }, ["KeyId", "Plaintext"]),
  async run(kms, call, input) {
    call.trail.defaults = { encryptionAlgorithm: "SYMMETRIC_DEFAULT" };
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: true, state: "cryptographic", crossAccount: true });
    const algorithm = kms.requireEncryptionAlgorithm(key, input.EncryptionAlgorithm, "Encrypt");
    if (input.DryRun) throw new ServiceError("DryRunOperationException");
    const plaintext = input.Plaintext as Buffer;
    let blob: Buffer;
    if (algorithm === "SYMMETRIC_DEFAULT") {
      const sealed = await kms.encrypt(key, plaintext, input.EncryptionContext);
      blob = sealed.blob;
      call.trail.additional = { ...call.trail.additional, keyMaterialId: sealed.materialId };
    } else {
      blob = await kms.encryptAsymmetric(key, algorithm, plaintext, input.EncryptionContext);
    }
    plaintext.fill(0);
    return { CiphertextBlob: blob, KeyId: kms.arnOf(key), EncryptionAlgorithm: algorithm as EncryptResponse["EncryptionAlgorithm"] };
  },
});
