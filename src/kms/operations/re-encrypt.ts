import type { ReEncryptRequest, ReEncryptResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { enumOf, list, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import type { KmsService } from "../service.js";
import type { CallContext } from "../../call.js";
import { Ciphertext, DryRun, EncryptionAlgorithm, EncryptionContext, GrantTokens, KeyId } from "../shapes.js";

/** The source side: an RSA ciphertext names its key and algorithm; a symmetric one carries its key. */
async function decryptSource(kms: KmsService, call: CallContext, input: ReEncryptRequest) {
  const asymmetric = await kms.decryptWithNamedKey(
    call,
    input.SourceKeyId,
    input.SourceEncryptionAlgorithm,
    input.CiphertextBlob as Buffer,
    input.SourceEncryptionContext,
    "kms:ReEncryptFrom",
  );
  if (asymmetric) return { ...asymmetric, algorithm: input.SourceEncryptionAlgorithm!, materialId: undefined };
  const source = await kms.decrypt(
    call,
    input.CiphertextBlob as Buffer,
    input.SourceEncryptionContext,
    input.SourceKeyId,
    input.DryRun === true,
    "kms:ReEncryptFrom",
  );
  return { ...source, algorithm: kms.requireEncryptionAlgorithm(source.key, input.SourceEncryptionAlgorithm, "ReEncrypt") };
}

/** additionalEventData of a ReEncrypt: the key material each side used (a symmetric key's). */
function materialIds(source: string | undefined, destination: string | undefined): Record<string, string> {
  const ids: Record<string, string> = {};
  if (destination) ids.destinationKeyMaterialId = destination;
  if (source) ids.sourceKeyMaterialId = source;
  return ids;
}

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
    call.trail.defaults = { sourceEncryptionAlgorithm: "SYMMETRIC_DEFAULT", destinationEncryptionAlgorithm: "SYMMETRIC_DEFAULT" };
    const destination = await kms.resolveKey(call, input.DestinationKeyId!, {
      aliases: true,
      state: "cryptographic",
      action: "kms:ReEncryptTo",
      crossAccount: true,
    });
    const destinationAlgorithm = kms.requireEncryptionAlgorithm(destination, input.DestinationEncryptionAlgorithm, "ReEncrypt");
    const source = await decryptSource(kms, call, input);
    if (input.DryRun) throw new ServiceError("DryRunOperationException");
    try {
      let blob: Buffer;
      let materialId: string | undefined;
      if (destinationAlgorithm === "SYMMETRIC_DEFAULT") {
        ({ blob, materialId } = await kms.encrypt(destination, source.plaintext, input.DestinationEncryptionContext));
      } else {
        blob = await kms.encryptAsymmetric(destination, destinationAlgorithm, source.plaintext, input.DestinationEncryptionContext);
      }
      call.trail.additional = { ...call.trail.additional, ...materialIds(source.materialId, materialId) };
      return {
        CiphertextBlob: blob,
        SourceKeyId: kms.arnOf(source.key),
        KeyId: kms.arnOf(destination),
        SourceEncryptionAlgorithm: source.algorithm as ReEncryptResponse["SourceEncryptionAlgorithm"],
        DestinationEncryptionAlgorithm: destinationAlgorithm as ReEncryptResponse["DestinationEncryptionAlgorithm"],
        SourceKeyMaterialId: source.materialId,
        DestinationKeyMaterialId: materialId,
      };
    } finally {
      source.plaintext.fill(0);
    }
  },
});
