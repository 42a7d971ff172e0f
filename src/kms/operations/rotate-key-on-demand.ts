import type { RotateKeyOnDemandRequest, RotateKeyOnDemandResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { MAX_ON_DEMAND_ROTATIONS, requireRotatable, rotateKey } from "../rotation.js";
import { KeyId } from "../shapes.js";

export const rotateKeyOnDemand = defineOperation<RotateKeyOnDemandRequest, RotateKeyOnDemandResponse>({
  name: "RotateKeyOnDemand",
  description: "Rotate a key now (at most 10 times per key); older versions keep decrypting.",
  readOnly: false,
  input: struct({ KeyId }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "rotation" });
    requireRotatable(kms, key);
    if (key.onDemandRotations >= MAX_ON_DEMAND_ROTATIONS) {
      throw new ServiceError(
        "LimitExceededException",
        `${kms.arnOf(key)} has reached the limit of ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations.`,
      );
    }
    if (!(await rotateKey(kms, key, "ON_DEMAND"))) {
      throw new ServiceError("ConflictException", `${kms.arnOf(key)} is being rotated by another request.`);
    }
    return { KeyId: key.keyId };
  },
});
