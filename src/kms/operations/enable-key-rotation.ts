import type { EnableKeyRotationRequest } from "@aws-sdk/client-kms";
import { DAY_MS } from "../../clock.js";
import { int, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { DEFAULT_ROTATION_PERIOD_DAYS, requireRotatable } from "../rotation.js";
import { KeyId } from "../shapes.js";

export const enableKeyRotation = defineOperation<EnableKeyRotationRequest, Record<string, never>>({
  name: "EnableKeyRotation",
  description: "Turn on automatic rotation every 90–2560 days (default 365).",
  readOnly: false,
  input: struct({ KeyId, RotationPeriodInDays: int({ min: 90, max: 2560 }) }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "rotation" });
    requireRotatable(kms, key);
    const days = input.RotationPeriodInDays ?? DEFAULT_ROTATION_PERIOD_DAYS;
    await kms.repo.updateKey(key.keyId, {
      rotationEnabled: true,
      rotationPeriodInDays: days,
      nextRotationDate: kms.clock.now() + days * DAY_MS,
    });
    return {};
  },
});
