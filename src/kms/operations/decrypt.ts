import type { DecryptRequest, DecryptResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { enumOf, list, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Ciphertext, DryRun, EncryptionAlgorithm, EncryptionContext, GrantTokens, KeyId, RecipientInfo } from "../shapes.js";

export const decrypt = defineOperation<DecryptRequest, DecryptResponse>({
  name: "Decrypt",
  description: "Decrypt a ciphertext blob; the encryption context must be the one used to encrypt.",
  readOnly: true,
  input: struct(
    {
      CiphertextBlob: Ciphertext,
      EncryptionContext,
      GrantTokens,
      KeyId,
      EncryptionAlgorithm,
      Recipient: RecipientInfo,
      DryRun,
      DryRunModifiers: list(enumOf(["IGNORE_CIPHERTEXT"])),
    },
    ["CiphertextBlob"],
  ),
  async run(kms, call, input) {
    call.trail.defaults = { encryptionAlgorithm: "SYMMETRIC_DEFAULT" };
    if (input.Recipient !== undefined) {
      throw new ServiceError("UnsupportedOperationException", "Recipient (Nitro Enclaves attestation) is not supported by keyhold.");
    }
    const asymmetric = await kms.decryptWithNamedKey(
      call,
      input.KeyId,
      input.EncryptionAlgorithm,
      input.CiphertextBlob as Buffer,
      input.EncryptionContext,
    );
    if (asymmetric) {
      if (input.DryRun) throw new ServiceError("DryRunOperationException");
      return { KeyId: kms.arnOf(asymmetric.key), Plaintext: asymmetric.plaintext, EncryptionAlgorithm: input.EncryptionAlgorithm };
    }
    const { key, plaintext, materialId } = await kms.decrypt(
      call,
      input.CiphertextBlob as Buffer,
      input.EncryptionContext,
      input.KeyId,
      input.DryRun === true,
    );
    const algorithm = kms.requireEncryptionAlgorithm(key, input.EncryptionAlgorithm, "Decrypt");
    call.trail.additional = { ...call.trail.additional, keyMaterialId: materialId };
    return {
      KeyId: kms.arnOf(key),
      Plaintext: plaintext,
      EncryptionAlgorithm: algorithm as DecryptResponse["EncryptionAlgorithm"],
      KeyMaterialId: materialId,
    };
  },
});
