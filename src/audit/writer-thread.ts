/**
 * The audit writer: a worker thread that owns its chain file's write connection, so the fsync of each
 * group commit happens off the event loop. It receives batches, appends each in one transaction
 * and answers with the sequence numbers (or the error) once the commit is written.
 *
 * With `sync: "commit"` (the default) a commit is on disk (fsynced) before it is answered. With
 * "periodic" it is in the operating system before it is answered — so a kill -9 of keyhold loses
 * nothing acknowledged — and the WAL is fsynced by a checkpoint at most 100 ms later, which bounds
 * what a power loss or kernel crash can take; the hash chain then simply ends earlier.
 */
import { parentPort, workerData } from "node:worker_threads";
import { makeAppender } from "./append.js";
import { openAuditDatabase } from "./database.js";
import type { AuditEvent } from "./record.js";
import type { AuditSync } from "../config.js";
import { decodeEvents } from "./wire-events.js";

const { path, chain, sync } = workerData as { path: string; chain: string; sync: AuditSync };
const db = openAuditDatabase(path);
const SYNC_INTERVAL_MS = 100;
let unsynced = false;
if (sync === "periodic") {
  db.pragma("synchronous = NORMAL");
  // In WAL mode with synchronous=NORMAL, a checkpoint fsyncs the WAL first.
  setInterval(() => {
    if (!unsynced) return;
    unsynced = false;
    db.pragma("wal_checkpoint(PASSIVE)");
  }, SYNC_INTERVAL_MS).unref();
}
// Other processes (workers) append to the same file. SQLite's own busy handler sleeps in steps of
// milliseconds; waiting here in steps of 0.2 ms keeps a contended commit's latency low.
db.pragma("busy_timeout = 0");
const appendOnce = makeAppender(db, chain);
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function append(events: AuditEvent[]): number[] {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return appendOnce(events);
    } catch (error) {
      if ((error as { code?: string }).code !== "SQLITE_BUSY" || Date.now() > deadline) throw error;
      Atomics.wait(sleeper, 0, 0, 0.2);
    }
  }
}

parentPort!.on("message", (message: { id: number; events: string } | { close: true }) => {
  if ("close" in message) {
    if (unsynced) db.pragma("wal_checkpoint(PASSIVE)");
    db.close();
    parentPort!.postMessage({ closed: true });
    return;
  }
  try {
    const seqs = append(decodeEvents(message.events));
    unsynced = true;
    parentPort!.postMessage({ id: message.id, seqs });
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: (error as Error).message });
  }
});
parentPort!.postMessage({ ready: true });
