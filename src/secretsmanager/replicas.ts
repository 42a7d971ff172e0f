/** What ReplicateSecretToRegions and CreateSecret's AddReplicaRegions share: checking the regions and adding the replicas. */
import { ServiceError } from "../errors.js";
import { REGION_NAME } from "../regions.js";
import { bool, list, str, struct } from "../validation/schema.js";
import type { ReplicaState, Secret, SecretBody, SecretsManagerService } from "./service.js";
import { KmsKeyId } from "./shapes.js";

/** RegionType: 1–128 of `^([a-z]+-)+\d+$` (the model's pattern). */
export const Region = str({ min: 1, max: 128, pattern: /^([a-z]+-)+\d+$/ });
export const AddReplicaRegions = list(struct({ Region, KmsKeyId }), { min: 1 });
export const ForceOverwriteReplicaSecret = bool();

export interface ReplicaRequest {
  Region?: string;
  KmsKeyId?: string;
}

/** The regions checked: served, not the primary's, not already replicas, each named once. */
export function checkReplicaRegions(
  sm: SecretsManagerService,
  primary: Pick<SecretBody, "region" | "replicas">,
  requested: readonly ReplicaRequest[],
): ReplicaState[] {
  const seen = new Set((primary.replicas ?? []).map((r) => r.region));
  const out: ReplicaState[] = [];
  for (const r of requested) {
    const region = r.Region;
    if (region === undefined) throw new ServiceError("InvalidParameterException", "Each replica needs a Region.");
    if (!REGION_NAME.test(region) || !sm.regions.has(region)) {
      throw new ServiceError("InvalidParameterException", `${region} is not a region this server serves.`);
    }
    if (region === primary.region) {
      throw new ServiceError("InvalidParameterException", "A secret can't be replicated to its own region.");
    }
    if (seen.has(region)) throw new ServiceError("InvalidParameterException", `The secret is already replicated to ${region}.`);
    seen.add(region);
    out.push({ region, kmsKeyId: r.KmsKeyId === "" ? undefined : r.KmsKeyId, status: "InProgress" });
  }
  return out;
}

/** Adds replicas to a primary and brings each in step; answers the primary's ReplicationStatus. */
export async function addReplicas(sm: SecretsManagerService, primary: Secret, added: ReplicaState[], overwrite: boolean) {
  const replicator = sm.replicator;
  if (!replicator) throw new ServiceError("InvalidRequestException", "Replication is not available in this process.");
  const states: ReplicaState[] = [];
  for (const r of added) states.push(await replicator.syncOne(primary, r, overwrite));
  await sm.write(primary, { ...structuredClone(primary.body), replicas: [...(primary.body.replicas ?? []), ...states] });
  return replicationStatus(primary.body.replicas ?? []);
}

export function replicationStatus(replicas: readonly ReplicaState[], accessed: ReadonlyMap<string, number> = new Map()) {
  return replicas.map((r) => ({
    Region: r.region,
    KmsKeyId: r.kmsKeyId ?? "alias/aws/secretsmanager",
    Status: r.status,
    StatusMessage: r.statusMessage,
    LastAccessedDate: accessed.has(r.region) ? new Date(accessed.get(r.region)!) : undefined,
  }));
}
