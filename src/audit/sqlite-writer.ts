/**
 * The SQLite side of group commit. The trail hands each turn of the event loop's events to a
 * chain writer, which answers once they are durable in the `--audit-sync` sense:
 *
 * - commit: a worker thread owns the chain file's write connection (writer-thread.ts) and
 *   answers once the commit is fsynced, so the event loop never waits for the disk;
 * - periodic: the event loop commits the batch itself, which puts it in the operating system
 *   before the response leaves (what a kill -9 cannot take), and a checkpoint thread
 *   (checkpoint-thread.ts) fsyncs the WAL within 100 ms. No thread hop per batch: measured
 *   with `--workers 2`, that hop (encoding, cloning, waking two threads on two cores) cost more
 *   than the SQLite commit itself.
 */
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import type Database from "better-sqlite3";
import { makeAppender, retryWhileBusy } from "./append.js";
import { openAuditDatabase } from "./database.js";
import type { AuditEvent } from "./record.js";
import type { AuditSync } from "../config.js";
import type { Logger } from "../log.js";
import { encodeEvents } from "./wire-events.js";

export interface ChainWriter {
  start(): Promise<void>;
  /** Resolves once the events are durable as the sync mode has it. */
  append(events: AuditEvent[]): Promise<void>;
  close(): Promise<void>;
}

export function openChainWriter(path: string, chain: string, sync: AuditSync, log?: Logger): ChainWriter {
  return sync === "periodic" ? new InlineChainWriter(path, chain, log) : new ThreadChainWriter(path, chain);
}

/** Threads being closed on purpose: their end is no loss. */
const stopping = new WeakSet<Worker>();

/**
 * Starts a writer's thread. `lost` hears of its end when stopThread did not ask for it (a crash,
 * an error it did not catch), possibly more than once: an error is followed by the exit.
 */
function startThread(module: string, workerData: unknown, lost: (why: string) => void): { worker: Worker; ready: Promise<void> } {
  const worker = new Worker(fileURLToPath(new URL(module, import.meta.url)), { workerData });
  const ready = new Promise<void>((resolve, reject) => {
    worker.on("message", (m: { ready?: boolean }) => {
      if (m.ready) resolve();
    });
    worker.once("error", reject);
  });
  worker.on("error", (error) => {
    if (!stopping.has(worker)) lost(error.message);
  });
  worker.on("exit", (code) => {
    if (!stopping.has(worker)) lost(`exit code ${code}`);
  });
  return { worker, ready };
}

/** Asks the thread to close and waits for its answer, or for its end if it is gone already. */
async function stopThread(worker: Worker, message: unknown): Promise<void> {
  stopping.add(worker);
  await new Promise<void>((resolve) => {
    worker.on("message", (m: { closed?: boolean }) => m.closed && resolve());
    worker.once("exit", () => resolve());
    if (worker.threadId === -1) resolve();
    else worker.postMessage(message);
  });
  await worker.terminate();
}

class ThreadChainWriter implements ChainWriter {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;
  /** Why the writer thread is gone: every append fails from then on, rather than wait forever. */
  private failure: Error | undefined;

  constructor(path: string, chain: string) {
    ({ worker: this.worker, ready: this.ready } = startThread("./writer-thread.js", { path, chain }, (why) => {
      this.failure ??= new Error(`the audit writer thread stopped (${why})`);
      for (const w of this.waiting.values()) w.reject(this.failure);
      this.waiting.clear();
    }));
    this.worker.on("message", (m: { ids?: number[]; error?: string }) => {
      if (m.ids === undefined) return;
      for (const id of m.ids) {
        const w = this.waiting.get(id);
        this.waiting.delete(id);
        if (m.error) w?.reject(new Error(`audit write failed: ${m.error}`));
        else w?.resolve();
      }
    });
  }

  start(): Promise<void> {
    return this.ready;
  }

  append(events: AuditEvent[]): Promise<void> {
    if (this.failure) return Promise.reject(new Error(`audit write failed: ${this.failure.message}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, events: encodeEvents(events) });
    });
  }

  close(): Promise<void> {
    return stopThread(this.worker, { close: true });
  }
}

class InlineChainWriter implements ChainWriter {
  private readonly db: Database.Database;
  private readonly appendOnce: (events: AuditEvent[]) => number[];
  /** Set after each commit; the checkpoint thread clears it when it checkpoints. */
  private readonly dirty = new Int32Array(new SharedArrayBuffer(4));
  private readonly checkpointer: Worker;
  private readonly ready: Promise<void>;
  /** Set when the checkpoint thread is gone and this connection syncs its own commits instead. */
  private syncsItself = false;

  constructor(path: string, chain: string, log?: Logger) {
    this.db = openAuditDatabase(path);
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 0");
    // Checkpoints (and their fsyncs) are the checkpoint thread's; this connection syncs only the
    // WAL's header when it starts reusing the WAL after a complete checkpoint.
    this.db.pragma("wal_autocheckpoint = 0");
    this.appendOnce = makeAppender(this.db, chain);
    // Without the thread nothing would fsync the WAL: the event loop's connection then fsyncs each
    // commit itself (slower, and as durable as the default mode) rather than never.
    const fallBack = (why: string) => {
      if (this.syncsItself) return;
      this.syncsItself = true;
      this.db.pragma("synchronous = FULL");
      this.db.pragma("wal_autocheckpoint = 1000");
      log?.error(`audit: the checkpoint thread of ${path} stopped (${why}); each commit is fsynced on the event loop from now on`);
    };
    ({ worker: this.checkpointer, ready: this.ready } = startThread(
      "./checkpoint-thread.js",
      { path, dirty: this.dirty.buffer },
      fallBack,
    ));
  }

  start(): Promise<void> {
    return this.ready;
  }

  append(events: AuditEvent[]): Promise<void> {
    try {
      retryWhileBusy(() => this.appendOnce(events));
    } catch (error) {
      return Promise.reject(new Error(`audit write failed: ${(error as Error).message}`));
    }
    Atomics.store(this.dirty, 0, 1);
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await stopThread(this.checkpointer, { close: true });
    this.db.close();
  }
}
