import type { UntagResourceRequest } from "@aws-sdk/client-secrets-manager";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { SecretId, TagKeys } from "../shapes.js";

export const untagResource = defineOperation<UntagResourceRequest, Record<string, never>>({
  name: "UntagResource",
  description: "Remove tags from a secret by key.",
  readOnly: false,
  input: struct({ SecretId, TagKeys }, ["SecretId", "TagKeys"]),
  async run(sm, call, input) {
    const keys = input.TagKeys ?? [];
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:UntagResource", { tagKeys: keys });
    sm.requireNotDeleted(secret);
    await sm.save(secret, { ...secret.body, tags: secret.body.tags.filter((t) => !keys.includes(t.Key)) });
    return {};
  },
});
