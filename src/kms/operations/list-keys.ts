import type { ListKeysRequest, ListKeysResponse } from "@aws-sdk/client-kms";
import { struct } from "../../validation/schema.js";
import { keyArn } from "../arns.js";
import { defineOperation } from "../operation.js";
import { decodeMarker, encodeMarker } from "../paging.js";
import { Limit, Marker } from "../shapes.js";

export const listKeys = defineOperation<ListKeysRequest, ListKeysResponse>({
  name: "ListKeys",
  description: "List the keys of the account in the request's region.",
  readOnly: true,
  input: struct({ Limit, Marker }),
  async run(kms, call, input) {
    await kms.authorizeAccount(call);
    const page = await kms.repo.listKeys(call.accountId, call.region, decodeMarker("ListKeys", input.Marker), input.Limit ?? 100);
    return {
      Keys: page.items.map((k) => ({ KeyId: k.keyId, KeyArn: keyArn(k.region, k.accountId, k.keyId) })),
      NextMarker: encodeMarker("ListKeys", page.next),
      Truncated: page.next !== undefined,
    };
  },
});
