import type { DisableKeyRotationRequest } from "@aws-sdk/client-kms";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { requireRotatable } from "../rotation.js";
import { KeyId } from "../shapes.js";

export const disableKeyRotation = defineOperation<DisableKeyRotationRequest, Record<string, never>>({
  name: "DisableKeyRotation",
  description: "Turn off automatic rotation; existing versions keep decrypting.",
  readOnly: false,
  input: struct({ KeyId }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "rotation" });
    requireRotatable(kms, key);
    await kms.repo.updateKey(key.keyId, { rotationEnabled: false, rotationPeriodInDays: undefined, nextRotationDate: undefined });
    return {};
  },
});
