import type { GenerateDataKeyWithoutPlaintextRequest, GenerateDataKeyWithoutPlaintextResponse } from "@aws-sdk/client-kms";
import { struct } from "../../validation/schema.js";
import { generateDataKey } from "../data-keys.js";
import { defineOperation } from "../operation.js";
import { DataKeySpec, DryRun, EncryptionContext, GrantTokens, KeyId, NumberOfBytes } from "../shapes.js";

export const generateDataKeyWithoutPlaintext = defineOperation<
  GenerateDataKeyWithoutPlaintextRequest,
  GenerateDataKeyWithoutPlaintextResponse
>({
  name: "GenerateDataKeyWithoutPlaintext",
  description: "Make a data key and return it only encrypted under a KMS key.",
  readOnly: true,
  input: struct({ KeyId, EncryptionContext, KeySpec: DataKeySpec, NumberOfBytes, GrantTokens, DryRun }, ["KeyId"]),
  async run(kms, call, input) {
    const { key, plaintext, blob, materialId } = await generateDataKey(kms, call, input);
    plaintext.fill(0);
    return { CiphertextBlob: blob, KeyId: kms.arnOf(key), KeyMaterialId: materialId };
  },
});
