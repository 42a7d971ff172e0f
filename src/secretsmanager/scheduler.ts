/**
 * Background work of Secrets Manager: a secret whose recovery window has ended is purged (its
 * versions, their encrypted data keys, its name); a secret whose rotation is due is rotated, and
 * a failed rotation is tried again (the runner claims each one, so one node runs it). Run like the KMS scheduler: by the process
 * that holds the scheduler lease; `tick` is what the timer calls and what tests call after
 * moving an injected clock.
 */
import { CURRENT, PENDING, type SecretsManagerService } from "./service.js";
import { PeriodicPass } from "../periodic.js";

export class SecretsScheduler extends PeriodicPass<string[]> {
  constructor(
    private readonly sm: SecretsManagerService,
    private readonly log: (message: string) => void = () => {},
  ) {
    super("secrets scheduler", log);
  }

  /** Passes begun and secrets purged since this process started (the metrics read them). */
  readonly done = { runs: 0, purges: 0 };

  protected async pass(): Promise<string[]> {
    this.done.runs++;
    if (!(await this.sm.repo.schedulerLease())) return [];
    const purged: string[] = [];
    for (const secret of await this.sm.dueForDeletion(this.sm.clock.now())) {
      // At the revision read: a secret restored meanwhile is left alone.
      if (await this.sm.purge(secret)) {
        purged.push(secret.body.arn);
        this.done.purges++;
        this.log(`deleted secret ${secret.body.arn} at the end of its recovery window`);
      }
    }
    await this.rotations();
    return purged;
  }

  /** Rotations that are due, and failed ones whose retry time has come, with the same version id. */
  private async rotations(): Promise<void> {
    const runner = this.sm.rotation;
    if (!runner) return;
    for (const secret of await this.sm.withRotation()) {
      const r = secret.body.rotation;
      if (!r?.enabled || secret.body.deletionDate !== undefined) continue;
      const now = this.sm.clock.now();
      let token: string;
      if (r.pending) {
        if ((r.pending.retryAt ?? 0) > now || (r.pending.claimedUntil ?? 0) > now) continue;
        token = r.pending.token;
      } else if (r.nextRotationAt !== undefined && r.nextRotationAt <= now) {
        // A version left with AWSPENDING (a cancelled rotation) is the one AWS's rotation resumes.
        const stray = secret.body.versions.find((v) => v.stages.includes(PENDING) && !v.stages.includes(CURRENT));
        token = stray?.id ?? this.sm.newVersionId();
      } else continue;
      if (await runner.claim(secret, token, r)) await runner.run(secret, token);
    }
  }
}
