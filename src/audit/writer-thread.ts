/**
 * The audit writer: a worker thread that owns its chain file's write connection, so the fsync of each
 * group commit happens off the event loop. It receives batches, appends each in one transaction
 * and answers with the sequence numbers (or the error) once the commit is on disk.
 */
import { parentPort, workerData } from "node:worker_threads";
import { makeAppender } from "./append.js";
import { openAuditDatabase } from "./database.js";
import type { AuditEvent } from "./record.js";

const { path, chain } = workerData as { path: string; chain: string };
const db = openAuditDatabase(path);
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

parentPort!.on("message", (message: { id: number; events: AuditEvent[] } | { close: true }) => {
  if ("close" in message) {
    db.close();
    parentPort!.postMessage({ closed: true });
    return;
  }
  try {
    parentPort!.postMessage({ id: message.id, seqs: append(message.events) });
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: (error as Error).message });
  }
});
parentPort!.postMessage({ ready: true });
