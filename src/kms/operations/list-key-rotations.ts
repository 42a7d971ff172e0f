import type { ListKeyRotationsRequest, ListKeyRotationsResponse } from "@aws-sdk/client-kms";
import { enumOf, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { decodeMarker, encodeMarker } from "../paging.js";
import { requireRotatable } from "../rotation.js";
import { KeyId, Limit, Marker } from "../shapes.js";
import { ServiceError } from "../../errors.js";

export const listKeyRotations = defineOperation<ListKeyRotationsRequest, ListKeyRotationsResponse>({
  name: "ListKeyRotations",
  description: "List a key's rotations (or, with ALL_KEY_MATERIAL, every key material), oldest first.",
  readOnly: true,
  input: struct({ KeyId, IncludeKeyMaterial: enumOf(["ALL_KEY_MATERIAL", "ROTATIONS_ONLY"]), Limit, Marker }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "any" });
    requireRotatable(kms, key);
    const after = decodeMarker("ListKeyRotations", input.Marker);
    const afterVersion = after === undefined ? 0 : Number(after);
    if (!Number.isInteger(afterVersion) || afterVersion < 0)
      throw new ServiceError("InvalidMarkerException", "The Marker is not one this operation returned.");
    const firstListed = input.IncludeKeyMaterial === "ALL_KEY_MATERIAL" ? 1 : 2;
    const versions = (await kms.repo.listKeyVersions(key.keyId)).filter((v) => v.version >= firstListed && v.version > afterVersion);
    const limit = input.Limit ?? 100;
    const shown = versions.slice(0, limit);
    const more = versions.length > limit;
    return {
      Rotations: shown.map((v) => ({
        KeyId: key.keyId,
        KeyMaterialId: v.materialId,
        KeyMaterialState: v.version === key.currentVersion ? "CURRENT" : "NON_CURRENT",
        RotationDate: v.rotationType ? new Date(v.createdAt) : undefined,
        RotationType: v.rotationType,
      })),
      NextMarker: more ? encodeMarker("ListKeyRotations", String(shown[shown.length - 1]!.version)) : undefined,
      Truncated: more,
    };
  },
});
