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
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
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

type Message = { id: number; events: string } | { close: true };

function close(): void {
  if (unsynced) db.pragma("wal_checkpoint(PASSIVE)");
  db.close();
  parentPort!.postMessage({ closed: true });
}

/**
 * Group commit across messages: whatever batches have arrived by the time a commit starts go
 * into it together, so one fsync serves them all and the thread never waits for the event loop
 * to send the next batch while events are queued.
 */
parentPort!.on("message", (first: Message) => {
  const batches: { id: number; events: string }[] = [];
  let closing = false;
  for (let m: Message | undefined = first; m !== undefined; m = receiveMessageOnPort(parentPort!)?.message as Message | undefined) {
    if ("close" in m) {
      closing = true;
      break;
    }
    batches.push(m);
  }
  if (batches.length > 0) {
    const ids = batches.map((b) => b.id);
    try {
      append(batches.flatMap((b) => decodeEvents(b.events)));
      unsynced = true;
      parentPort!.postMessage({ ids });
    } catch (error) {
      parentPort!.postMessage({ ids, error: (error as Error).message });
    }
  }
  if (closing) close();
});
parentPort!.postMessage({ ready: true });
