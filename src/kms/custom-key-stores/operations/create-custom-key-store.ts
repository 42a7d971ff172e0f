import type { CreateCustomKeyStoreRequest, CreateCustomKeyStoreResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../../errors.js";
import { struct } from "../../../validation/schema.js";
import { getCluster, parseTrustAnchor, sameTrustAnchor } from "../../../hsm/clusters.js";
import { defineOperation } from "../../operation.js";
import { MAX_STORES_PER_REGION, newCustomKeyStoreId } from "../stores.js";
import {
  CloudHsmClusterId,
  CustomKeyStoreName,
  CustomKeyStoreType,
  KeyStorePassword,
  TrustAnchorCertificate,
  XKS_MEMBERS,
} from "../shapes.js";
import { customKeyStores, refuseXks } from "./common.js";

export const createCustomKeyStore = defineOperation<CreateCustomKeyStoreRequest, CreateCustomKeyStoreResponse>({
  name: "CreateCustomKeyStore",
  description:
    "Create a custom key store (AWS_CLOUDHSM) on an HSM cluster registered with `keyhold hsm cluster create`; it starts DISCONNECTED.",
  readOnly: false,
  input: struct({ CustomKeyStoreName, CloudHsmClusterId, TrustAnchorCertificate, KeyStorePassword, CustomKeyStoreType, ...XKS_MEMBERS }, [
    "CustomKeyStoreName",
  ]),
  async run(kms, call, input) {
    await kms.authorizeAccount(call);
    const stores = customKeyStores(kms);
    if (input.CustomKeyStoreType === "EXTERNAL_KEY_STORE") {
      throw new ServiceError(
        "UnsupportedOperationException",
        "External key stores (EXTERNAL_KEY_STORE) are not supported by this keyhold server.",
      );
    }
    refuseXks(input);
    if (input.CloudHsmClusterId === undefined || input.TrustAnchorCertificate === undefined || input.KeyStorePassword === undefined) {
      throw new ServiceError(
        "ValidationException",
        "An AWS_CLOUDHSM custom key store needs CloudHsmClusterId, TrustAnchorCertificate and KeyStorePassword.",
      );
    }
    const existing = await stores.listAll(call.accountId);
    const here = existing.filter((s) => s.region === call.region);
    if (here.some((s) => s.name === input.CustomKeyStoreName)) {
      throw new ServiceError("CustomKeyStoreNameInUseException", `A custom key store named '${input.CustomKeyStoreName}' already exists.`);
    }
    const cluster = await getCluster(kms.repo, call.accountId, input.CloudHsmClusterId);
    if (!cluster)
      throw new ServiceError("CloudHsmClusterNotFoundException", `Cluster ${input.CloudHsmClusterId} is not registered in this account.`);
    if (existing.some((s) => s.clusterId === cluster.clusterId)) {
      throw new ServiceError("CloudHsmClusterInUseException", `Cluster ${cluster.clusterId} is already the cluster of a custom key store.`);
    }
    parseTrustAnchor(input.TrustAnchorCertificate);
    if (!sameTrustAnchor(input.TrustAnchorCertificate, cluster.trustAnchor)) {
      throw new ServiceError(
        "IncorrectTrustAnchorException",
        `The TrustAnchorCertificate is not the one cluster ${cluster.clusterId} was initialized with.`,
      );
    }
    if (cluster.tokens.length < 2) {
      throw new ServiceError(
        "CloudHsmClusterInvalidConfigurationException",
        `Cluster ${cluster.clusterId} has ${cluster.tokens.length} token; a custom key store needs at least two.`,
      );
    }
    if (here.length >= MAX_STORES_PER_REGION) {
      throw new ServiceError("LimitExceededException", `An account has at most ${MAX_STORES_PER_REGION} custom key stores in a Region.`);
    }
    const id = newCustomKeyStoreId();
    const created = await stores.insert({
      customKeyStoreId: id,
      accountId: call.accountId,
      region: call.region,
      name: input.CustomKeyStoreName!,
      clusterId: cluster.clusterId,
      trustAnchor: input.TrustAnchorCertificate,
      wrappedPassword: stores.wrapPassword(id, input.KeyStorePassword),
      creationDate: kms.clock.now(),
      desired: "DISCONNECTED",
      generation: 0,
    });
    if (!created) throw new ServiceError("ConflictException", "A custom key store was created with the same id; try again.");
    call.trail.additional = { customKeyStoreId: id };
    return { CustomKeyStoreId: id };
  },
});
