import type { GenerateDataKeyPairWithoutPlaintextRequest, GenerateDataKeyPairWithoutPlaintextResponse } from "@aws-sdk/client-kms";
import { enumOf, struct } from "../../validation/schema.js";
import { generateDataKeyPair } from "../data-key-pairs.js";
import { DATA_KEY_PAIR_SPECS } from "../key-specs.js";
import { defineOperation } from "../operation.js";
import { DryRun, EncryptionContext, GrantTokens, KeyId } from "../shapes.js";

export const generateDataKeyPairWithoutPlaintext = defineOperation<
  GenerateDataKeyPairWithoutPlaintextRequest,
  GenerateDataKeyPairWithoutPlaintextResponse
>({
  name: "GenerateDataKeyPairWithoutPlaintext",
  description: "Make a key pair and return the public key and the encrypted private key only.",
  readOnly: true,
  input: struct({ EncryptionContext, KeyId, KeyPairSpec: enumOf(DATA_KEY_PAIR_SPECS), GrantTokens, DryRun }, ["KeyId", "KeyPairSpec"]),
  async run(kms, call, input) {
    const pair = await generateDataKeyPair(kms, call, input);
    pair.privateKey.fill(0);
    return {
      PrivateKeyCiphertextBlob: pair.blob,
      PublicKey: pair.publicKey,
      KeyId: kms.arnOf(pair.key),
      KeyPairSpec: input.KeyPairSpec,
      KeyMaterialId: pair.materialId,
    };
  },
});
