/**
 * Background work that comes due: keys whose deletion window has ended are destroyed (material,
 * aliases, tags, metadata), and keys with automatic rotation get a new version when their date
 * comes. `tick` is what the timer calls; tests call it directly after moving an injected clock.
 */
import type { KeyRecord } from "../store/records.js";
import { rotateKey } from "./rotation.js";
import type { KmsService } from "./service.js";
import { PeriodicPass } from "../periodic.js";

export interface KeyServiceEvent {
  eventName: "DeleteKey" | "RotateKey";
  key: KeyRecord;
  arn: string;
}

export interface TickReport {
  deleted: string[];
  rotated: string[];
  expired: string[];
}

export class KmsScheduler extends PeriodicPass<TickReport> {
  constructor(
    private readonly kms: KmsService,
    private readonly log: (message: string) => void = () => {},
    /** Told of each deletion and rotation, for the audit trail (CloudTrail's DeleteKey and RotateKey service events). */
    private readonly notify: (event: KeyServiceEvent) => Promise<void> = async () => {},
  ) {
    super("scheduler", log);
  }

  private leader = false;

  /** Passes begun and work done since this process started (the metrics read them). */
  readonly done = { runs: 0, deletions: 0, rotations: 0, expiredMaterial: 0 };

  protected async pass(): Promise<TickReport> {
    this.done.runs++;
    const now = this.kms.clock.now();
    const report: TickReport = { deleted: [], rotated: [], expired: [] };
    // Several nodes on one database: only the lease holder does the background work.
    const leader = await this.kms.repo.schedulerLease();
    // With SQLite the lease is this process's by configuration; only a shared database makes it news.
    if (leader !== this.leader && this.kms.repo.kind !== "sqlite") {
      this.log(leader ? "this node now runs the scheduler (lease acquired)" : "this node no longer runs the scheduler");
    }
    this.leader = leader;
    if (!leader) return report;
    for (const key of await this.kms.repo.keysDueForDeletion(now)) {
      // A key in a custom key store: its material destroyed in every token of the cluster (issue 20).
      if (key.customKeyStoreId !== undefined) await this.kms.customKeyStores?.destroyKey(key);
      await this.kms.repo.deleteKey(key.keyId);
      this.kms.forgetMaterial(key.keyId);
      report.deleted.push(key.keyId);
      this.done.deletions++;
      await this.notify({ eventName: "DeleteKey", key, arn: this.kms.arnOf(key) });
      this.log(`deleted key ${this.kms.arnOf(key)} at the end of its ${key.pendingWindowInDays}-day waiting period`);
    }
    for (const key of await this.kms.repo.keysWithExpiredMaterial(now)) {
      // Imported material past its ValidTo is deleted; the key waits for the same material again.
      await this.kms.repo.deleteKeyMaterial(key.keyId, {
        keyState: key.keyState === "PendingDeletion" ? "PendingDeletion" : "PendingImport",
        validTo: undefined,
        expirationModel: undefined,
      });
      this.kms.forgetMaterial(key.keyId);
      report.expired.push(key.keyId);
      this.done.expiredMaterial++;
      this.log(`deleted the expired imported key material of ${this.kms.arnOf(key)}`);
    }
    for (const key of await this.kms.repo.keysDueForRotation(now)) {
      // A disabled key or one pending deletion is not rotated; it is rotated when it is enabled again.
      if (key.keyState !== "Enabled") continue;
      if (await rotateKey(this.kms, key, "AUTOMATIC")) {
        report.rotated.push(key.keyId);
        this.done.rotations++;
        await this.notify({ eventName: "RotateKey", key, arn: this.kms.arnOf(key) });
        this.log(`rotated key ${this.kms.arnOf(key)} to version ${key.currentVersion + 1}`);
      }
    }
    return report;
  }
}
