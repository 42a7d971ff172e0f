import type { DescribeCustomKeyStoresRequest, DescribeCustomKeyStoresResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../../errors.js";
import { struct } from "../../../validation/schema.js";
import { defineOperation } from "../../operation.js";
import { Limit, Marker } from "../../shapes.js";
import { CustomKeyStoreId, CustomKeyStoreName } from "../shapes.js";
import { customKeyStores } from "./common.js";

export const describeCustomKeyStores = defineOperation<DescribeCustomKeyStoresRequest, DescribeCustomKeyStoresResponse>({
  name: "DescribeCustomKeyStores",
  description: "Describe the custom key stores of the account and Region: cluster, trust anchor, ConnectionState and ConnectionErrorCode.",
  readOnly: true,
  input: struct({ CustomKeyStoreId, CustomKeyStoreName, Limit, Marker }),
  async run(kms, call, input) {
    await kms.authorizeAccount(call);
    const stores = customKeyStores(kms);
    let all = await stores.list(call.accountId, call.region);
    // Naming a store that does not exist is an error, as in AWS, not an empty list.
    if (input.CustomKeyStoreId !== undefined) {
      all = all.filter((s) => s.customKeyStoreId === input.CustomKeyStoreId);
      if (all.length === 0)
        throw new ServiceError("CustomKeyStoreNotFoundException", `Custom key store ${input.CustomKeyStoreId} does not exist.`);
    }
    if (input.CustomKeyStoreName !== undefined) {
      all = all.filter((s) => s.name === input.CustomKeyStoreName);
      if (all.length === 0)
        throw new ServiceError("CustomKeyStoreNotFoundException", `No custom key store is named '${input.CustomKeyStoreName}'.`);
    }
    let start = 0;
    if (input.Marker !== undefined) {
      if (!/^cks-[0-9a-f]{17}$/.test(input.Marker)) throw new ServiceError("InvalidMarkerException");
      start = all.findIndex((s) => s.customKeyStoreId > input.Marker!);
      if (start < 0) start = all.length;
    }
    const limit = input.Limit ?? 100;
    const page = all.slice(start, start + limit);
    const truncated = start + limit < all.length;
    const entries = [];
    for (const s of page) entries.push(await stores.entry(s));
    return {
      CustomKeyStores: entries,
      Truncated: truncated,
      NextMarker: truncated ? page[page.length - 1]!.customKeyStoreId : undefined,
    };
  },
});
