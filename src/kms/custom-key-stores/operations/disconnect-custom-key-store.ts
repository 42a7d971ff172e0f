import type { DisconnectCustomKeyStoreRequest, DisconnectCustomKeyStoreResponse } from "@aws-sdk/client-kms";
import { struct } from "../../../validation/schema.js";
import { defineOperation } from "../../operation.js";
import { CustomKeyStoreId } from "../shapes.js";
import { customKeyStores } from "./common.js";

export const disconnectCustomKeyStore = defineOperation<DisconnectCustomKeyStoreRequest, DisconnectCustomKeyStoreResponse>({
  name: "DisconnectCustomKeyStore",
  description: "Disconnect a custom key store from its HSM cluster: its keys become Unavailable until it is connected again.",
  readOnly: false,
  input: struct({ CustomKeyStoreId }, ["CustomKeyStoreId"]),
  async run(kms, call, input) {
    await kms.authorizeAccount(call);
    const stores = customKeyStores(kms);
    const { doc, store } = await stores.require(call.accountId, call.region, input.CustomKeyStoreId!);
    call.trail.additional = { customKeyStoreId: store.customKeyStoreId };
    await stores.disconnect(doc, store);
    return {};
  },
});
