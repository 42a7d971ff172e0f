import type { UntagResourceRequest } from "@aws-sdk/client-kms";
import { list, str, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { KeyId } from "../shapes.js";

export const untagResource = defineOperation<UntagResourceRequest, Record<string, never>>({
  name: "UntagResource",
  description: "Remove tags from a key by tag key.",
  readOnly: false,
  input: struct({ KeyId, TagKeys: list(str({ min: 1, max: 128 })) }, ["KeyId", "TagKeys"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "manage" });
    await kms.repo.removeTags(key.keyId, input.TagKeys!);
    return {};
  },
});
