import type { DeriveSharedSecretRequest, DeriveSharedSecretResponse } from "@aws-sdk/client-kms";
import { ecdh } from "../../crypto/asymmetric.js";
import { ServiceError } from "../../errors.js";
import { enumOf, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { DryRun, GrantTokens, KeyId, PublicKeyBlob, RecipientInfo } from "../shapes.js";

export const deriveSharedSecret = defineOperation<DeriveSharedSecretRequest, DeriveSharedSecretResponse>({
  name: "DeriveSharedSecret",
  description: "ECDH between a KEY_AGREEMENT key and the caller's public key (DER SubjectPublicKeyInfo).",
  readOnly: true,
  input: struct(
    { KeyId, KeyAgreementAlgorithm: enumOf(["ECDH"]), PublicKey: PublicKeyBlob, GrantTokens, DryRun, Recipient: RecipientInfo },
    ["KeyId", "KeyAgreementAlgorithm", "PublicKey"],
  ),
  async run(kms, call, input) {
    if (input.Recipient !== undefined) {
      throw new ServiceError("UnsupportedOperationException", "Recipient (Nitro Enclaves attestation) is not supported by keyhold.");
    }
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: true, state: "cryptographic", crossAccount: true });
    kms.requireAlgorithm(key, "KEY_AGREEMENT", input.KeyAgreementAlgorithm!, "key agreement algorithm", "DeriveSharedSecret");
    if (input.DryRun) throw new ServiceError("DryRunOperationException");
    const secret = ecdh(await kms.singleKey(key), input.PublicKey as Buffer);
    if (!secret) {
      throw new ServiceError("ValidationException", `PublicKey must be a DER SubjectPublicKeyInfo on the curve of ${key.keySpec}.`);
    }
    return { KeyId: kms.arnOf(key), SharedSecret: secret, KeyAgreementAlgorithm: "ECDH", KeyOrigin: "AWS_KMS" };
  },
});
