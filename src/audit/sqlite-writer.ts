/** The SQLite side of group commit: a worker thread owns the chain file's write connection (writer-thread.ts). */
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import type { AuditEvent } from "./record.js";
import type { AuditSync } from "../config.js";
import { encodeEvents } from "./wire-events.js";

export class SqliteChainWriter {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;

  constructor(path: string, chain: string, sync: AuditSync) {
    this.worker = new Worker(fileURLToPath(new URL("./writer-thread.js", import.meta.url)), { workerData: { path, chain, sync } });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on("message", (m: { ready?: boolean }) => {
        if (m.ready) resolve();
      });
      this.worker.once("error", reject);
    });
    this.worker.on("message", (m: { ids?: number[]; error?: string }) => {
      if (m.ids === undefined) return;
      for (const id of m.ids) {
        const w = this.waiting.get(id);
        this.waiting.delete(id);
        if (m.error) w?.reject(new Error(`audit write failed: ${m.error}`));
        else w?.resolve();
      }
    });
    this.worker.on("error", (error) => {
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
    });
  }

  start(): Promise<void> {
    return this.ready;
  }

  append(events: AuditEvent[]): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, events: encodeEvents(events) });
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.worker.on("message", (m: { closed?: boolean }) => m.closed && resolve());
      this.worker.postMessage({ close: true });
    });
    await this.worker.terminate();
  }
}
