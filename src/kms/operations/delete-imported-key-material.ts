import type { DeleteImportedKeyMaterialRequest, DeleteImportedKeyMaterialResponse } from "@aws-sdk/client-kms";
import { str, struct } from "../../validation/schema.js";
import { requireExternal } from "../import.js";
import { defineOperation } from "../operation.js";
import { KeyId } from "../shapes.js";

export const deleteImportedKeyMaterial = defineOperation<DeleteImportedKeyMaterialRequest, DeleteImportedKeyMaterialResponse>({
  name: "DeleteImportedKeyMaterial",
  description: "Delete an EXTERNAL key's imported material; the key waits in PendingImport for the same material.",
  readOnly: false,
  input: struct({ KeyId, KeyMaterialId: str({ min: 64, max: 64, pattern: /^[a-f0-9]+$/ }) }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "manage" });
    requireExternal(kms.arnOf(key), key);
    const current = await kms.repo.getKeyVersion(key.keyId, key.currentVersion);
    await kms.repo.deleteKeyMaterial(key.keyId, { keyState: "PendingImport", expirationModel: undefined, validTo: undefined });
    kms.forgetMaterial(key.keyId);
    return { KeyId: kms.arnOf(key), KeyMaterialId: current?.materialId };
  },
});
