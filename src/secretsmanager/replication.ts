/**
 * Replicas: read-only copies of a secret in other regions of the same account (keyhold serves
 * every region on one endpoint), each version re-encrypted under a key of the replica's region
 * (its KmsKeyId, or that region's aws/secretsmanager), with the primary's labels, description and
 * tags. Every write of the primary is followed by a sync; a version already copied keeps its
 * ciphertext, a new one is decrypted in the primary's region and sealed in the replica's. A
 * replica that cannot be brought in step is reported Failed with the reason, never half-written.
 */
import { randomUUID } from "node:crypto";
import type { CallContext } from "../call.js";
import { ServiceError } from "../errors.js";
import { rootPrincipal } from "../iam/principal.js";
import type { ReplicaState, Secret, SecretBody, SecretsManagerService, StoredVersion } from "./service.js";

/** AWS's StatusMessage when the replica's region already has a secret of that name. */
export const NAME_TAKEN = "Secret with this name already exists in this region";

export function replicaArn(primaryArn: string, region: string): string {
  const parts = primaryArn.split(":");
  parts[3] = region;
  return parts.join(":");
}

export class Replicator {
  constructor(private readonly sm: SecretsManagerService) {}

  /** Secrets Manager acting for itself in the account: the replication's KMS calls. */
  private serviceCall(accountId: string, region: string): CallContext {
    return {
      accountId,
      region,
      accessKeyId: "",
      principal: rootPrincipal(accountId),
      time: this.sm.clock.now(),
      secureTransport: true,
      requestId: randomUUID(),
      action: "",
      trail: { resources: [] },
    };
  }

  /**
   * Brings one replica in step with `primary`; answers its new state. `overwrite`: a secret of
   * the same name in that region that is not this primary's replica is replaced (ForceOverwriteReplicaSecret).
   */
  async syncOne(primary: Secret, replica: ReplicaState, overwrite = false): Promise<ReplicaState> {
    const p = primary.body;
    const existing = await this.sm.load(primary.accountId, replica.region, p.name);
    const ours = existing?.body.primaryRegion === p.region && existing.body.arn === replicaArn(p.arn, replica.region);
    if (existing && !ours && !overwrite) return { ...replica, status: "Failed", statusMessage: NAME_TAKEN };
    const target = ours ? existing : undefined;
    try {
      const body: SecretBody = {
        arn: replicaArn(p.arn, replica.region),
        name: p.name,
        region: replica.region,
        description: p.description,
        kmsKeyId: replica.kmsKeyId,
        tags: structuredClone(p.tags),
        createdAt: target?.body.createdAt ?? this.sm.clock.now(),
        lastChangedAt: p.lastChangedAt,
        lastAccessedAt: target?.body.lastAccessedAt,
        policy: p.policy,
        versions: [],
        primaryRegion: p.region,
      };
      const unchanged =
        target !== undefined && JSON.stringify(summary(target.body)) === JSON.stringify(summary({ ...body, versions: p.versions }));
      if (unchanged) return { ...replica, status: "InSync", statusMessage: undefined };
      const from = this.serviceCall(primary.accountId, p.region);
      const to = this.serviceCall(primary.accountId, replica.region);
      for (const v of p.versions) {
        const copied = target?.body.versions.find((x) => x.id === v.id);
        if (copied && copied.kmsKeyArn !== undefined && sameKey(target!.body, replica)) {
          body.versions.push({ ...copied, stages: [...v.stages] });
          continue;
        }
        const value = await this.sm.openVersion(from, p, v);
        try {
          const sealed: StoredVersion = await this.sm.sealVersion(to, body, v.id, value, v.binary, [...v.stages]);
          body.versions.push({ ...sealed, createdAt: v.createdAt });
        } finally {
          value.fill(0);
        }
      }
      if (existing && !ours) await this.sm.remove(primary.accountId, replica.region, p.name);
      if (!(await this.sm.writeDocument(primary.accountId, replica.region, body, target))) {
        return {
          ...replica,
          status: "Failed",
          statusMessage: "The replica was changed at the same time; it is synchronized on the next change.",
        };
      }
      return { ...replica, status: "InSync", statusMessage: undefined };
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      return { ...replica, status: "Failed", statusMessage: error.message };
    }
  }

  /** After a write of the primary: every replica follows; their states are written back when they change. */
  async sync(primary: Secret): Promise<void> {
    const replicas = primary.body.replicas ?? [];
    const states: ReplicaState[] = [];
    for (const r of replicas) {
      // A name collision stays Failed until the replica is removed or re-added with ForceOverwriteReplicaSecret.
      states.push(r.status === "Failed" && r.statusMessage === NAME_TAKEN ? r : await this.syncOne(primary, r));
    }
    if (JSON.stringify(states) === JSON.stringify(replicas)) return;
    try {
      await this.sm.write(primary, { ...primary.body, replicas: states });
    } catch (error) {
      // A concurrent write of the primary syncs again itself.
      if (!(error instanceof ServiceError)) throw error;
    }
  }
}

/** What a replica must match of its primary: version ids with their labels, and the metadata. */
function summary(body: SecretBody) {
  return {
    versions: body.versions.map((v) => [v.id, [...v.stages].sort()]),
    description: body.description,
    tags: body.tags,
    policy: body.policy,
    lastChangedAt: body.lastChangedAt,
  };
}

/** Whether the replica's copies are under the key the replica is now configured with. */
function sameKey(body: SecretBody, replica: ReplicaState): boolean {
  return body.kmsKeyId === replica.kmsKeyId;
}
