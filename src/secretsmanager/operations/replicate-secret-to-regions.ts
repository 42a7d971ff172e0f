import type { ReplicateSecretToRegionsRequest, ReplicateSecretToRegionsResponse } from "@aws-sdk/client-secrets-manager";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { addReplicas, AddReplicaRegions, checkReplicaRegions, ForceOverwriteReplicaSecret } from "../replicas.js";
import { SecretId } from "../shapes.js";

export const replicateSecretToRegions = defineOperation<ReplicateSecretToRegionsRequest, ReplicateSecretToRegionsResponse>({
  name: "ReplicateSecretToRegions",
  description: "Make read-only replicas of a secret in other regions, each encrypted under a key of its own region and kept in step.",
  readOnly: false,
  input: struct({ SecretId, AddReplicaRegions, ForceOverwriteReplicaSecret }, ["SecretId", "AddReplicaRegions"]),
  async run(sm, call, input) {
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:ReplicateSecretToRegions", {
      keys: { "secretsmanager:addreplicaregions": (input.AddReplicaRegions ?? []).map((r) => r.Region ?? "") },
    });
    sm.requireNotDeleted(secret);
    const added = checkReplicaRegions(sm, secret.body, input.AddReplicaRegions ?? []);
    const status = await addReplicas(sm, secret, added, input.ForceOverwriteReplicaSecret === true);
    return { ARN: secret.body.arn, ReplicationStatus: status };
  },
});
