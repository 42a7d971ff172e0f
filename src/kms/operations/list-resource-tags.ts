import type { ListResourceTagsRequest, ListResourceTagsResponse } from "@aws-sdk/client-kms";
import { int, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { decodeMarker, encodeMarker } from "../paging.js";
import { KeyId, Marker } from "../shapes.js";

export const listResourceTags = defineOperation<ListResourceTagsRequest, ListResourceTagsResponse>({
  name: "ListResourceTags",
  description: "List a key's tags.",
  readOnly: true,
  input: struct({ KeyId, Limit: int({ min: 1, max: 50 }), Marker }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "any" });
    const page = await kms.repo.listTags(key.keyId, decodeMarker("ListResourceTags", input.Marker), input.Limit ?? 50);
    return { Tags: page.items, NextMarker: encodeMarker("ListResourceTags", page.next), Truncated: page.next !== undefined };
  },
});
