import type { GenerateDataKeyRequest, GenerateDataKeyResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { generateDataKey as makeDataKey } from "../data-keys.js";
import { defineOperation } from "../operation.js";
import { DataKeySpec, DryRun, EncryptionContext, GrantTokens, KeyId, NumberOfBytes, RecipientInfo } from "../shapes.js";

export const generateDataKey = defineOperation<GenerateDataKeyRequest, GenerateDataKeyResponse>({
  name: "GenerateDataKey",
  description: "Make a data key for envelope encryption: returned in plaintext and encrypted under a KMS key.",
  readOnly: true,
  input: struct({ KeyId, EncryptionContext, NumberOfBytes, KeySpec: DataKeySpec, GrantTokens, Recipient: RecipientInfo, DryRun }, [
    "KeyId",
  ]),
  async run(kms, call, input) {
    if (input.Recipient !== undefined) {
      throw new ServiceError("UnsupportedOperationException", "Recipient (Nitro Enclaves attestation) is not supported by keyhold.");
    }
    const { key, plaintext, blob, materialId } = await makeDataKey(kms, call, input);
    return { CiphertextBlob: blob, Plaintext: plaintext, KeyId: kms.arnOf(key), KeyMaterialId: materialId };
  },
});
