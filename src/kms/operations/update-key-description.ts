import type { UpdateKeyDescriptionRequest } from "@aws-sdk/client-kms";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Description, KeyId } from "../shapes.js";

export const updateKeyDescription = defineOperation<UpdateKeyDescriptionRequest, Record<string, never>>({
  name: "UpdateKeyDescription",
  description: "Replace a key's description.",
  readOnly: false,
  input: struct({ KeyId, Description }, ["KeyId", "Description"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "manage" });
    await kms.repo.updateKey(key.keyId, { description: input.Description! });
    return {};
  },
});
