import type { UpdateCustomKeyStoreRequest, UpdateCustomKeyStoreResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../../errors.js";
import { struct } from "../../../validation/schema.js";
import { getCluster } from "../../../hsm/clusters.js";
import { defineOperation } from "../../operation.js";
import { CloudHsmClusterId, CustomKeyStoreId, CustomKeyStoreName, KeyStorePassword, XKS_MEMBERS } from "../shapes.js";
import { customKeyStores, refuseXks } from "./common.js";

export const updateCustomKeyStore = defineOperation<UpdateCustomKeyStoreRequest, UpdateCustomKeyStoreResponse>({
  name: "UpdateCustomKeyStore",
  description:
    "Rename a DISCONNECTED custom key store, give it the token user's new PIN (KeyStorePassword), or move it to a related cluster.",
  readOnly: false,
  input: struct({ CustomKeyStoreId, NewCustomKeyStoreName: CustomKeyStoreName, KeyStorePassword, CloudHsmClusterId, ...XKS_MEMBERS }, [
    "CustomKeyStoreId",
  ]),
  async run(kms, call, input) {
    await kms.authorizeAccount(call);
    const stores = customKeyStores(kms);
    refuseXks(input);
    const { doc, store } = await stores.require(call.accountId, call.region, input.CustomKeyStoreId!);
    call.trail.additional = { customKeyStoreId: store.customKeyStoreId };
    // AWS: "To update any property of an AWS CloudHSM key store, the ConnectionState of the
    // AWS CloudHSM key store must be DISCONNECTED." A FAILED store must be disconnected first.
    if (store.desired !== "DISCONNECTED") {
      throw new ServiceError(
        "CustomKeyStoreInvalidStateException",
        `Custom key store ${store.customKeyStoreId} must be DISCONNECTED to be updated; disconnect it first.`,
      );
    }
    const next = { ...store };
    if (input.NewCustomKeyStoreName !== undefined && input.NewCustomKeyStoreName !== store.name) {
      const here = await stores.list(call.accountId, call.region);
      if (here.some((s) => s.name === input.NewCustomKeyStoreName)) {
        throw new ServiceError(
          "CustomKeyStoreNameInUseException",
          `A custom key store named '${input.NewCustomKeyStoreName}' already exists.`,
        );
      }
      next.name = input.NewCustomKeyStoreName;
    }
    if (input.CloudHsmClusterId !== undefined && input.CloudHsmClusterId !== store.clusterId) {
      const target = await getCluster(kms.repo, call.accountId, input.CloudHsmClusterId);
      if (!target)
        throw new ServiceError("CloudHsmClusterNotFoundException", `Cluster ${input.CloudHsmClusterId} is not registered in this account.`);
      const current = await getCluster(kms.repo, call.accountId, store.clusterId);
      // Only a cluster holding the same keys will do (CloudHSM: one made from the original's backup).
      if (!current || current.lineage !== target.lineage) {
        throw new ServiceError(
          "CloudHsmClusterNotRelatedException",
          `Cluster ${target.clusterId} is not related to ${store.clusterId}: it does not hold the same keys.`,
        );
      }
      next.clusterId = target.clusterId;
    }
    if (input.KeyStorePassword !== undefined) next.wrappedPassword = stores.wrapPassword(store.customKeyStoreId, input.KeyStorePassword);
    await stores.save(doc, next);
    return {};
  },
});
