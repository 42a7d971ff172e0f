import { createHash } from "node:crypto";
import type { CallContext } from "../../call.js";
import { ServiceError } from "../../errors.js";
import { defineServiceOperation } from "../../operation.js";
import { int, list, map, str, struct } from "../../validation/schema.js";
import { listClusters, type ClusterRecord } from "../../hsm/clusters.js";
import type { KmsService } from "../../kms/service.js";

interface DescribeClustersInput {
  Filters?: Record<string, string[]>;
  NextToken?: string;
  MaxResults?: number;
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** A stable HSM id per token of a cluster, in CloudHSM's format (`hsm-` and 11 base32 characters). */
function hsmId(clusterId: string, index: number): string {
  const digest = createHash("sha256").update(`${clusterId}:${index}`).digest();
  let id = "hsm-";
  for (let i = 0; i < 11; i++) id += BASE32[digest[i]! % 32];
  return id;
}

function view(kms: KmsService, c: ClusterRecord) {
  // Reachability as this node sees it, when a custom key store has the cluster open.
  const seen = kms.customKeyStores?.tokensOf(c);
  const hsms = c.tokens.map((t, i) => ({
    ClusterId: c.clusterId,
    HsmId: hsmId(c.clusterId, i),
    State: seen === undefined || seen[i]?.up ? "ACTIVE" : "DEGRADED",
    StateMessage: t.tokenLabel !== undefined ? `PKCS#11 token '${t.tokenLabel}'` : `PKCS#11 slot ${t.slot}`,
  }));
  return {
    ClusterId: c.clusterId,
    CreateTimestamp: new Date(c.createdAt),
    Hsms: hsms,
    HsmType: "pkcs11",
    State: hsms.some((h) => h.State !== "ACTIVE") ? "DEGRADED" : "ACTIVE",
    BackupPolicy: "DEFAULT",
    Mode: "FIPS",
  };
}

export const describeClusters = defineServiceOperation<KmsService, DescribeClustersInput, unknown>({
  name: "DescribeClusters",
  description: "List the HSM clusters registered in this account (`keyhold hsm cluster create`) with their tokens as HSMs.",
  readOnly: true,
  input: struct({
    Filters: map(str(), list(str(), { max: 100 }), { max: 30 }),
    NextToken: str({ max: 256 }),
    MaxResults: int({ min: 1, max: 25 }),
  }),
  async run(kms: KmsService, call: CallContext, input: DescribeClustersInput) {
    await kms.authorizer.require(call, { action: call.action, resource: "*" });
    let clusters = await listClusters(kms.repo, call.accountId);
    for (const [field, values] of Object.entries(input.Filters ?? {})) {
      if (field === "clusterIds") clusters = clusters.filter((c) => values.includes(c.clusterId));
      else if (field === "states") clusters = clusters.filter((c) => values.includes(view(kms, c).State));
      else if (field !== "vpcIds")
        throw new ServiceError("CloudHsmInvalidRequestException", `Filter '${field}' is not one of clusterIds, states, vpcIds.`);
    }
    let start = 0;
    if (input.NextToken !== undefined) {
      start = clusters.findIndex((c) => c.clusterId > input.NextToken!);
      if (start < 0) start = clusters.length;
    }
    const max = input.MaxResults ?? 25;
    const page = clusters.slice(start, start + max);
    const more = start + max < clusters.length;
    return { Clusters: page.map((c) => view(kms, c)), NextToken: more ? page[page.length - 1]!.clusterId : undefined };
  },
});
