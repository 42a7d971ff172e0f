/**
 * Background work of ACM Private CA, run by the process that holds the scheduler lease: CRLs
 * are republished before they expire, and a CA deleted with a restoration period is removed for
 * good once it ends (its key, its certificates). `tick` is what the timer calls and what tests
 * call after moving an injected clock.
 */
import type { AcmPcaService } from "./service.js";
import { PeriodicPass } from "../periodic.js";

export class AcmPcaScheduler extends PeriodicPass<{ crls: number; deleted: string[] }> {
  /** Passes begun since this process started. */
  readonly done = { runs: 0, crls: 0, deletions: 0 };

  constructor(
    private readonly pca: AcmPcaService,
    private readonly log: (message: string) => void = () => {},
  ) {
    super("acm-pca scheduler", log);
  }

  protected async pass(): Promise<{ crls: number; deleted: string[] }> {
    this.done.runs++;
    if (!(await this.pca.repo.schedulerLease())) return { crls: 0, deleted: [] };
    const accounts = (await this.pca.repo.listAccounts()).map((a) => a.accountId);
    const deleted = await this.pca.purgeDeleted(accounts);
    for (const arn of deleted) this.log(`deleted certificate authority ${arn} at the end of its restoration period`);
    this.done.deletions += deleted.length;
    const crls = this.pca.crls ? await this.pca.crls.refreshDue(accounts) : 0;
    this.done.crls += crls;
    return { crls, deleted };
  }
}
