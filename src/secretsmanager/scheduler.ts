/**
 * Background work of Secrets Manager: a secret whose recovery window has ended is purged (its
 * versions, their encrypted data keys, its name). Run like the KMS scheduler: by the process
 * that holds the scheduler lease; `tick` is what the timer calls and what tests call after
 * moving an injected clock.
 */
import type { SecretsManagerService } from "./service.js";

export class SecretsScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<string[]> | undefined;

  constructor(
    private readonly sm: SecretsManagerService,
    private readonly log: (message: string) => void = () => {},
  ) {}

  start(intervalMs: number): void {
    const run = () => {
      this.tick().catch((error: unknown) => this.log(`secrets scheduler tick failed: ${(error as Error).stack ?? String(error)}`));
    };
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
    run();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Runs one pass; answers the ARNs of the secrets purged. */
  tick(): Promise<string[]> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Passes begun and secrets purged since this process started (the metrics read them). */
  readonly done = { runs: 0, purges: 0 };

  private async pass(): Promise<string[]> {
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
    return purged;
  }
}
