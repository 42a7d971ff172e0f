import type { EnableKeyRequest } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { KeyId } from "../shapes.js";

export const enableKey = defineOperation<EnableKeyRequest, Record<string, never>>({
  name: "EnableKey",
  description: "Enable a disabled key so it can be used again.",
  readOnly: false,
  input: struct({ KeyId }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "enableDisable" });
    if (!(await kms.repo.updateKey(key.keyId, { keyState: "Enabled" }, key.keyState))) {
      throw new ServiceError("ConflictException", "The key changed state during the request; try again.");
    }
    return {};
  },
});
