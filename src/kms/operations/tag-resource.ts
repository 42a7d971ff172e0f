import type { TagResourceRequest } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import type { Tag } from "../../store/records.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { KeyId, Tags } from "../shapes.js";
import { checkTags, MAX_TAGS_PER_KEY } from "../tags.js";

export const tagResource = defineOperation<TagResourceRequest, Record<string, never>>({
  name: "TagResource",
  description: "Add or overwrite tags on a key (at most 50 per key).",
  readOnly: false,
  input: struct({ KeyId, Tags }, ["KeyId", "Tags"]),
  async run(kms, call, input) {
    const tags = checkTags(input.Tags as Tag[]);
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "manage" });
    if (!(await kms.repo.putTags(key.keyId, tags, MAX_TAGS_PER_KEY))) {
      throw new ServiceError("LimitExceededException", `A KMS key can have at most ${MAX_TAGS_PER_KEY} tags.`);
    }
    return {};
  },
});
