import type { DeleteCustomKeyStoreRequest, DeleteCustomKeyStoreResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../../errors.js";
import { struct } from "../../../validation/schema.js";
import { defineOperation } from "../../operation.js";
import { CustomKeyStoreId } from "../shapes.js";
import { customKeyStores } from "./common.js";

export const deleteCustomKeyStore = defineOperation<DeleteCustomKeyStoreRequest, DeleteCustomKeyStoreResponse>({
  name: "DeleteCustomKeyStore",
  description: "Delete a DISCONNECTED custom key store that holds no KMS keys (the cluster and its tokens stay as they are).",
  readOnly: false,
  input: struct({ CustomKeyStoreId }, ["CustomKeyStoreId"]),
  async run(kms, call, input) {
    await kms.authorizeAccount(call);
    const stores = customKeyStores(kms);
    const { doc, store } = await stores.require(call.accountId, call.region, input.CustomKeyStoreId!);
    call.trail.additional = { customKeyStoreId: store.customKeyStoreId };
    if (store.desired !== "DISCONNECTED") {
      throw new ServiceError(
        "CustomKeyStoreInvalidStateException",
        `Custom key store ${store.customKeyStoreId} must be DISCONNECTED to be deleted; disconnect it first.`,
      );
    }
    // Keys in any state count, pending deletion included: they must be deleted first.
    let after: string | undefined;
    for (;;) {
      const page = await kms.repo.listKeys(call.accountId, call.region, after, 1000);
      if (page.items.some((k) => k.customKeyStoreId === store.customKeyStoreId)) {
        throw new ServiceError(
          "CustomKeyStoreHasCMKsException",
          `Custom key store ${store.customKeyStoreId} still holds KMS keys: schedule their deletion and wait for it first.`,
        );
      }
      if (page.next === undefined) break;
      after = page.next;
    }
    if (!(await stores.remove(doc))) {
      throw new ServiceError("ConflictException", `Custom key store ${store.customKeyStoreId} was changed by another request; try again.`);
    }
    return {};
  },
});
