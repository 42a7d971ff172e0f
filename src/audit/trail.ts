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

export class AuditTrail {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private queue: Pending[] = [];
  private inFlight: Pending[] | undefined;
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
      if (m.id === undefined || !this.inFlight) return;
      const done = this.inFlight;
      this.inFlight = undefined;
      if (m.error) for (const p of done) p.reject(new Error(`audit write failed: ${m.error}`));
      else for (const p of done) p.resolve();
      this.send();
    });
    this.worker.on("error", (error) => {
      for (const p of [...(this.inFlight ?? []), ...this.queue]) p.reject(error);
      this.inFlight = undefined;
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

  private send(): void {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = this.queue.splice(0, MAX_BATCH);
    this.worker.postMessage({ id: this.nextId++, events: this.inFlight.map((p) => p.event) });
  }

  /** Waits for every recorded event to be committed, then stops the writer. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight || this.queue.length > 0) {
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
