import type { ConnectCustomKeyStoreRequest, ConnectCustomKeyStoreResponse } from "@aws-sdk/client-kms";
import { struct } from "../../../validation/schema.js";
import { defineOperation } from "../../operation.js";
import { CustomKeyStoreId } from "../shapes.js";
import { customKeyStores } from "./common.js";

export const connectCustomKeyStore = defineOperation<ConnectCustomKeyStoreRequest, ConnectCustomKeyStoreResponse>({
  name: "ConnectCustomKeyStore",
  description:
    "Connect a custom key store to its HSM cluster: log in to its tokens with the KeyStorePassword. Success says it was asked; DescribeCustomKeyStores shows CONNECTED or FAILED with the reason.",
  readOnly: false,
  input: struct({ CustomKeyStoreId }, ["CustomKeyStoreId"]),
  async run(kms, call, input) {
    await kms.authorizeAccount(call);
    const stores = customKeyStores(kms);
    const { doc, store } = await stores.require(call.accountId, call.region, input.CustomKeyStoreId!);
    call.trail.additional = { customKeyStoreId: store.customKeyStoreId };
    await stores.connect(doc, store);
    return {};
  },
});
