import type { GenerateDataKeyPairRequest, GenerateDataKeyPairResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { enumOf, struct } from "../../validation/schema.js";
import { generateDataKeyPair as makePair } from "../data-key-pairs.js";
import { DATA_KEY_PAIR_SPECS } from "../key-specs.js";
import { defineOperation } from "../operation.js";
import { DryRun, EncryptionContext, GrantTokens, KeyId, RecipientInfo } from "../shapes.js";

export const generateDataKeyPair = defineOperation<GenerateDataKeyPairRequest, GenerateDataKeyPairResponse>({
  name: "GenerateDataKeyPair",
  description: "Make an RSA or ECC key pair: the public key, the private key, and the private key encrypted under a KMS key.",
  readOnly: true,
  input: struct({ EncryptionContext, KeyId, KeyPairSpec: enumOf(DATA_KEY_PAIR_SPECS), GrantTokens, Recipient: RecipientInfo, DryRun }, [
    "KeyId",
    "KeyPairSpec",
  ]),
  async run(kms, call, input) {
    if (input.Recipient !== undefined) {
      throw new ServiceError("UnsupportedOperationException", "Recipient (Nitro Enclaves attestation) is not supported by keyhold.");
    }
    const pair = await makePair(kms, call, input);
    return {
      PrivateKeyCiphertextBlob: pair.blob,
      PrivateKeyPlaintext: pair.privateKey,
      PublicKey: pair.publicKey,
      KeyId: kms.arnOf(pair.key),
      KeyPairSpec: input.KeyPairSpec,
      KeyMaterialId: pair.materialId,
    };
  },
});
