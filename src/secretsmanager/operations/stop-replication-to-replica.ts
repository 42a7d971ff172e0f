import type { StopReplicationToReplicaRequest, StopReplicationToReplicaResponse } from "@aws-sdk/client-secrets-manager";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { SecretId } from "../shapes.js";

export const stopReplicationToReplica = defineOperation<StopReplicationToReplicaRequest, StopReplicationToReplicaResponse>({
  name: "StopReplicationToReplica",
  description: "Promote a replica to a standalone secret in its region; the primary no longer replicates to it.",
  readOnly: false,
  input: struct({ SecretId }, ["SecretId"]),
  async run(sm, call, input) {
    const replica = await sm.require(call, input.SecretId!, "secretsmanager:StopReplicationToReplica");
    const primaryRegion = replica.body.primaryRegion;
    if (primaryRegion === undefined) {
      throw new ServiceError(
        "InvalidRequestException",
        "The secret is not a replica: call StopReplicationToReplica in the replica's region.",
      );
    }
    // The primary stops first: were the replica freed first, the primary's next write would copy over it.
    const primary = await sm.load(replica.accountId, primaryRegion, replica.body.name);
    if (primary?.body.replicas?.some((r) => r.region === replica.body.region)) {
      const body = structuredClone(primary.body);
      body.replicas = body.replicas!.filter((r) => r.region !== replica.body.region);
      if (body.replicas.length === 0) body.replicas = undefined;
      await sm.write(primary, body);
    }
    await sm.write(replica, { ...structuredClone(replica.body), primaryRegion: undefined, lastChangedAt: sm.clock.now() });
    return { ARN: replica.body.arn };
  },
});
