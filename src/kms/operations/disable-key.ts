import type { DisableKeyRequest } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { KeyId } from "../shapes.js";

export const disableKey = defineOperation<DisableKeyRequest, Record<string, never>>({
  name: "DisableKey",
  description: "Disable a key: every cryptographic operation with it is refused until it is enabled.",
  readOnly: false,
  input: struct({ KeyId }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "enableDisable" });
    if (!(await kms.repo.updateKey(key.keyId, { keyState: "Disabled" }, key.keyState))) {
      throw new ServiceError("ConflictException", "The key changed state during the request; try again.");
    }
    return {};
  },
});
