import type { ImportKeyMaterialRequest, ImportKeyMaterialResponse } from "@aws-sdk/client-kms";
import { timingSafeEqual } from "node:crypto";
import { DAY_MS } from "../../clock.js";
import { takePrivateKey } from "../../crypto/asymmetric.js";
import { ServiceError } from "../../errors.js";
import { enumOf, str, struct, timestamp } from "../../validation/schema.js";
import { WRAPPING_KEY_BITS, checkImportedMaterial, requireExternal, unwrapImported } from "../import.js";
import { defineOperation } from "../operation.js";
import { materialContext } from "../service.js";
import { Ciphertext, KeyId } from "../shapes.js";
import { importTokenContext } from "./get-parameters-for-import.js";

export const importKeyMaterial = defineOperation<ImportKeyMaterialRequest, ImportKeyMaterialResponse>({
  name: "ImportKeyMaterial",
  description: "Import wrapped key material into an EXTERNAL key, optionally expiring at ValidTo.",
  readOnly: false,
  input: struct(
    {
      KeyId,
      ImportToken: Ciphertext,
      EncryptedKeyMaterial: Ciphertext,
      ValidTo: timestamp(),
      ExpirationModel: enumOf(["KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE"]),
      ImportType: enumOf(["NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL"]),
      KeyMaterialDescription: str({ min: 0, max: 256 }),
      KeyMaterialId: str({ min: 64, max: 64, pattern: /^[a-f0-9]+$/ }),
    },
    ["KeyId", "ImportToken", "EncryptedKeyMaterial"],
  ),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "manage" });
    requireExternal(kms.arnOf(key), key);
    const now = kms.clock.now();
    const model = input.ExpirationModel ?? "KEY_MATERIAL_EXPIRES";
    const validTo = input.ValidTo?.getTime();
    if (model === "KEY_MATERIAL_EXPIRES" && validTo === undefined) {
      throw new ServiceError("ValidationException", "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES (the default).");
    }
    if (model === "KEY_MATERIAL_DOES_NOT_EXPIRE" && validTo !== undefined) {
      throw new ServiceError("ValidationException", "ValidTo must be omitted when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.");
    }
    if (validTo !== undefined && (validTo <= now || validTo > now + 365 * DAY_MS)) {
      throw new ServiceError("ValidationException", "ValidTo must be in the future and at most 365 days away.");
    }

    const token = Buffer.from(input.ImportToken as Uint8Array).toString("hex");
    const params = await kms.repo.getImportToken(token);
    if (!params || params.keyId !== key.keyId)
      throw new ServiceError("InvalidImportTokenException", "The import token is not valid for this KMS key.");
    if (params.validTo <= now)
      throw new ServiceError("ExpiredImportTokenException", "The import token has expired; call GetParametersForImport again.");

    const wrappingKey = takePrivateKey(kms.keystore.unwrap(params.wrappedPrivateKey, importTokenContext(key.keyId, token)));
    const material = unwrapImported(
      params.wrappingAlgorithm,
      wrappingKey,
      WRAPPING_KEY_BITS[params.wrappingKeySpec]!,
      input.EncryptedKeyMaterial as Buffer,
    );
    if (!material)
      throw new ServiceError("InvalidCiphertextException", "The key material could not be unwrapped with these import parameters.");
    try {
      checkImportedMaterial(key.keySpec, material);
      const fingerprint = kms.keystore.fingerprint(material, `keyhold:imported-material:v1:${key.keyId}`);
      if (
        key.materialFingerprint &&
        !(key.materialFingerprint.length === fingerprint.length && timingSafeEqual(key.materialFingerprint, fingerprint))
      ) {
        throw new ServiceError(
          "IncorrectKeyMaterialException",
          "This KMS key was bound to other key material; only the same material can be imported again.",
        );
      }
      const materialId = fingerprint.toString("hex");
      await kms.repo.importKeyMaterial(
        {
          keyId: key.keyId,
          version: 1,
          materialId,
          wrappedMaterial: kms.keystore.wrap(material, materialContext(key.keyId, 1)),
          createdAt: now,
        },
        {
          keyState: key.keyState === "PendingImport" ? "Enabled" : key.keyState,
          expirationModel: model,
          validTo,
          materialFingerprint: fingerprint,
        },
      );
      kms.forgetMaterial(key.keyId);
      return { KeyId: kms.arnOf(key), KeyMaterialId: materialId };
    } finally {
      material.fill(0);
    }
  },
});
