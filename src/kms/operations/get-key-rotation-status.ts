import type { GetKeyRotationStatusRequest, GetKeyRotationStatusResponse } from "@aws-sdk/client-kms";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { requireRotatable } from "../rotation.js";
import { KeyId } from "../shapes.js";

export const getKeyRotationStatus = defineOperation<GetKeyRotationStatusRequest, GetKeyRotationStatusResponse>({
  name: "GetKeyRotationStatus",
  description: "Tell whether automatic rotation is on, its period and the next rotation date.",
  readOnly: true,
  input: struct({ KeyId }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "any", crossAccount: true });
    requireRotatable(kms, key);
    // A key pending deletion does not rotate; cancelling the deletion restores the status (AWS).
    const enabled = key.rotationEnabled && key.keyState !== "PendingDeletion";
    return {
      KeyRotationEnabled: enabled,
      KeyId: kms.arnOf(key),
      RotationPeriodInDays: enabled ? key.rotationPeriodInDays : undefined,
      NextRotationDate: enabled && key.nextRotationDate !== undefined ? new Date(key.nextRotationDate) : undefined,
    };
  },
});
