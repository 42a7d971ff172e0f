/**
 * The loop every scheduler shares: a pass on a timer (unref'd, so it never keeps the process
 * alive), a first pass at start so due work waits no longer than it must, never two passes at
 * once (overlapping ticks share the pass in progress), and a stop that waits for the pass in
 * flight. `tick` is what the timer calls and what tests call after moving an injected clock.
 */
export abstract class PeriodicPass<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;

  protected constructor(
    /** Names the scheduler in the log line of a failed pass. */
    private readonly label: string,
    private readonly report: (message: string) => void,
  ) {}

  start(intervalMs: number): void {
    const run = () => {
      this.tick().catch((error: unknown) => this.report(`${this.label} tick failed: ${(error as Error).stack ?? String(error)}`));
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

  /** Runs one pass; overlapping calls share the pass in progress. */
  tick(): Promise<T> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  protected abstract pass(): Promise<T>;
}
