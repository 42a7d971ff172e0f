import type { DescribeSecretRequest, DescribeSecretResponse } from "@aws-sdk/client-secrets-manager";
import { struct } from "../../validation/schema.js";
import { secretMetadata } from "../describe.js";
import { replicationStatus } from "../replicas.js";
import { defineOperation } from "../operation.js";
import { SecretId } from "../shapes.js";

export const describeSecret = defineOperation<DescribeSecretRequest, DescribeSecretResponse>({
  name: "DescribeSecret",
  description: "Describe a secret: its key, tags, dates and versions with their staging labels (never its value).",
  readOnly: true,
  input: struct({ SecretId }, ["SecretId"]),
  async run(sm, call, input) {
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:DescribeSecret");
    const meta = secretMetadata(secret.body);
    // Each replica's LastAccessedDate is its own: read from the replica.
    const accessed = new Map<string, number>();
    for (const r of secret.body.replicas ?? []) {
      const replica = await sm.load(secret.accountId, r.region, secret.body.name);
      if (replica?.body.primaryRegion === secret.body.region && replica.body.lastAccessedAt !== undefined) {
        accessed.set(r.region, replica.body.lastAccessedAt);
      }
    }
    return {
      ...meta,
      ReplicationStatus: secret.body.replicas?.length ? replicationStatus(secret.body.replicas, accessed) : undefined,
      VersionIdsToStages: sm.versionIdsToStages(secret.body),
    };
  },
});
