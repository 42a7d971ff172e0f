/**
 * The audit trail as the server uses it: `record` resolves once the event is committed to disk.
 * Events arriving while a commit is in flight wait and go together in the next one (group
 * commit), so throughput holds while every response still waits for its own event.
 */
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import type { AuditEvent } from "./record.js";

type Pending = { event: AuditEvent; resolve: () => void; reject: (e: Error) => void };

const MAX_BATCH = 512;
const MAX_IN_FLIGHT = 2;

export class AuditTrail {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private queue: Pending[] = [];
  /** Batches posted to the writer and not yet committed, oldest first (the writer answers in order). */
  private inFlight: Pending[][] = [];
  private nextId = 1;
  private scheduled = false;
  private closed = false;

  constructor(path: string, chain: number) {
    this.worker = new Worker(fileURLToPath(new URL("./writer-thread.js", import.meta.url)), { workerData: { path, chain } });
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (m: { ready?: boolean }) => {
        if (m.ready) {
          this.worker.off("error", reject);
          resolve();
        }
      };
      this.worker.on("message", onMessage);
      this.worker.once("error", reject);
    });
    this.worker.on("message", (m: { id?: number; seqs?: number[]; error?: string }) => {
      if (m.id === undefined || this.inFlight.length === 0) return;
      const done = this.inFlight.shift()!;
      if (m.error) for (const p of done) p.reject(new Error(`audit write failed: ${m.error}`));
      else for (const p of done) p.resolve();
      this.send();
    });
    this.worker.on("error", (error) => {
      for (const p of [...this.inFlight.flat(), ...this.queue]) p.reject(error);
      this.inFlight = [];
      this.queue = [];
    });
  }

  start(): Promise<void> {
    return this.ready;
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

  /**
   * Posts the queued events as one batch, unless two batches are already waiting for the writer:
   * a second batch lets the writer start its next commit the moment the previous one is on disk,
   * instead of idling while replies travel back and callers send their next requests.
   */
  private send(): void {
    if (this.inFlight.length >= MAX_IN_FLIGHT || this.queue.length === 0) return;
    const batch = this.queue.splice(0, MAX_BATCH);
    this.inFlight.push(batch);
    this.worker.postMessage({ id: this.nextId++, events: batch.map((p) => p.event) });
  }

  /** Waits for every recorded event to be committed, then stops the writer. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight.length > 0 || this.queue.length > 0) {
      this.send();
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise<void>((resolve) => {
      this.worker.once("message", () => resolve());
      this.worker.postMessage({ close: true });
    });
    await this.worker.terminate();
  }
}
