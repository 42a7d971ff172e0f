import type { ReEncryptRequest, ReEncryptResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { enumOf, list, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Ciphertext, DryRun, EncryptionAlgorithm, EncryptionContext, GrantTokens, KeyId } from "../shapes.js";

export const reEncrypt = defineOperation<ReEncryptRequest, ReEncryptResponse>({
  name: "ReEncrypt",
  description: "Decrypt a ciphertext and encrypt it again under another key or context, without exposing the plaintext.",
  readOnly: true,
  input: struct(
    {
      CiphertextBlob: Ciphertext,
      SourceEncryptionContext: EncryptionContext,
      SourceKeyId: KeyId,
      DestinationKeyId: KeyId,
      DestinationEncryptionContext: EncryptionContext,
      SourceEncryptionAlgorithm: EncryptionAlgorithm,
      DestinationEncryptionAlgorithm: EncryptionAlgorithm,
      GrantTokens,
      DryRun,
      DryRunModifiers: list(enumOf(["IGNORE_CIPHERTEXT"])),
    },
    ["CiphertextBlob", "DestinationKeyId"],
  ),
  async run(kms, call, input) {
    const destination = await kms.resolveKey(call, input.DestinationKeyId!, { aliases: true, state: "cryptographic" });
    const destinationAlgorithm = kms.requireEncryptionAlgorithm(destination, input.DestinationEncryptionAlgorithm);
    const source = await kms.decrypt(
      call,
      input.CiphertextBlob as Buffer,
      input.SourceEncryptionContext,
      input.SourceKeyId,
      input.DryRun === true,
    );
    const sourceAlgorithm = kms.requireEncryptionAlgorithm(source.key, input.SourceEncryptionAlgorithm);
    if (input.DryRun) throw new ServiceError("DryRunOperationException");
    const { blob, materialId } = await kms.encrypt(destination, source.plaintext, input.DestinationEncryptionContext);
    source.plaintext.fill(0);
    return {
      CiphertextBlob: blob,
      SourceKeyId: kms.arnOf(source.key),
      KeyId: kms.arnOf(destination),
      SourceEncryptionAlgorithm: sourceAlgorithm as ReEncryptResponse["SourceEncryptionAlgorithm"],
      DestinationEncryptionAlgorithm: destinationAlgorithm as ReEncryptResponse["DestinationEncryptionAlgorithm"],
      SourceKeyMaterialId: source.materialId,
      DestinationKeyMaterialId: materialId,
    };
  },
});
