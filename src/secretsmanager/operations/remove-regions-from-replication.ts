import type { RemoveRegionsFromReplicationRequest, RemoveRegionsFromReplicationResponse } from "@aws-sdk/client-secrets-manager";
import { ServiceError } from "../../errors.js";
import { list, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { NAME_TAKEN, replicaArn } from "../replication.js";
import { Region, replicationStatus } from "../replicas.js";
import { SecretId } from "../shapes.js";

export const removeRegionsFromReplication = defineOperation<RemoveRegionsFromReplicationRequest, RemoveRegionsFromReplicationResponse>({
  name: "RemoveRegionsFromReplication",
  description: "Delete replicas of a secret in the regions named; the primary stays as it is.",
  readOnly: false,
  input: struct({ SecretId, RemoveReplicaRegions: list(Region, { min: 1 }) }, ["SecretId", "RemoveReplicaRegions"]),
  async run(sm, call, input) {
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:RemoveRegionsFromReplication");
    const regions = new Set(input.RemoveReplicaRegions!);
    const replicas = secret.body.replicas ?? [];
    for (const region of regions) {
      if (!replicas.some((r) => r.region === region)) {
        throw new ServiceError("InvalidParameterException", `The secret has no replica in ${region}.`);
      }
    }
    const body = structuredClone(secret.body);
    body.replicas = replicas.filter((r) => !regions.has(r.region));
    if (body.replicas.length === 0) body.replicas = undefined;
    await sm.write(secret, body);
    for (const r of replicas.filter((x) => regions.has(x.region))) {
      // A region whose secret of the same name was never ours (Failed: name taken) keeps that secret.
      if (r.statusMessage === NAME_TAKEN) continue;
      const replica = await sm.load(secret.accountId, r.region, secret.body.name);
      if (replica?.body.arn === replicaArn(secret.body.arn, r.region) && replica.body.primaryRegion === secret.body.region) {
        await sm.remove(secret.accountId, r.region, secret.body.name);
      }
    }
    return { ARN: secret.body.arn, ReplicationStatus: replicationStatus(body.replicas ?? []) };
  },
});
