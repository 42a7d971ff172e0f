/**
 * Group commit: `record` resolves once the event is committed. Events arriving while commits are
 * in flight wait and go together in the next batch, so throughput holds while every response
 * still waits for its own event. How many batches may be in flight is the store's to say: the
 * SQLite writer merges every batch waiting for it into its next commit, so batches are sent as
 * they form and commits grow with the load.
 */
import type { AuditEvent } from "./record.js";

type Pending = { event: AuditEvent; resolve: () => void; reject: (e: Error) => void };

const MAX_BATCH = 512;

export class AuditTrail {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private readonly idle: (() => void)[] = [];

  constructor(
    private readonly appendBatch: (events: AuditEvent[]) => Promise<void>,
    private readonly maxInFlight: number,
  ) {}

  /** Events waiting for a batch to be sent. */
  get waiting(): number {
    return this.queue.length;
  }

  record(event: AuditEvent): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the audit trail is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.send();
        });
      }
    });
  }

  private send(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.inFlight++;
      this.appendBatch(batch.map((p) => p.event))
        .then(
          () => batch.forEach((p) => p.resolve()),
          (error: Error) => batch.forEach((p) => p.reject(error)),
        )
        .finally(() => {
          this.inFlight--;
          this.send();
          if (this.inFlight === 0 && this.queue.length === 0) this.idle.splice(0).forEach((f) => f());
        });
    }
  }

  /** Waits until every recorded event is committed; later records are refused. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.inFlight === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => {
      this.idle.push(resolve);
      this.send();
    });
  }
}
