import type { TagResourceRequest } from "@aws-sdk/client-secrets-manager";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { checkTags, mergeTags } from "../service.js";
import { SecretId, Tags } from "../shapes.js";

export const tagResource = defineOperation<TagResourceRequest, Record<string, never>>({
  name: "TagResource",
  description: "Add or overwrite tags on a secret (at most 50).",
  readOnly: false,
  input: struct({ SecretId, Tags }, ["SecretId", "Tags"]),
  async run(sm, call, input) {
    const tags = checkTags(input.Tags ?? []);
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:TagResource", { requestTags: tags });
    sm.requireNotDeleted(secret);
    await sm.save(secret, { ...secret.body, tags: mergeTags(secret.body.tags, tags) });
    return {};
  },
});
