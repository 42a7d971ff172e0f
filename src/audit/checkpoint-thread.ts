/**
 * The fsync of `--audit-sync periodic`: a worker thread with its own connection to the chain
 * file that checkpoints the WAL every 100 ms when the event loop has committed since the last
 * time. In WAL mode with synchronous=NORMAL a checkpoint fsyncs the WAL before copying it into
 * the database, so every commit is on disk within about 100 ms, and the event loop, which
 * commits the events itself, waits for the disk only when SQLite reuses the WAL after a complete
 * checkpoint: it then fsyncs the WAL's new header (strace under load: up to about a dozen times
 * in 5 s, 0.4–1 ms each).
 */
import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";

const CHECKPOINT_INTERVAL_MS = 100;

const { path, dirty } = workerData as { path: string; dirty: SharedArrayBuffer };
const flag = new Int32Array(dirty);
const db = new Database(path);
db.pragma("synchronous = NORMAL");
db.pragma("busy_timeout = 1000");

function checkpoint(): void {
  if (Atomics.exchange(flag, 0, 0) === 0) return;
  db.pragma("wal_checkpoint(PASSIVE)");
}

const timer = setInterval(() => {
  try {
    checkpoint();
  } catch {
    // Busy or failing now: the commits stay marked and the next turn tries again.
    Atomics.store(flag, 0, 1);
  }
}, CHECKPOINT_INTERVAL_MS);

parentPort!.on("message", () => {
  clearInterval(timer);
  try {
    checkpoint();
  } catch {
    // Busy or failing: the writer's connection, closed next as the last one, checkpoints what is
    // left. Either way the close is answered, so a shutdown never waits for this thread forever.
  }
  db.close();
  parentPort!.postMessage({ closed: true });
});
parentPort!.postMessage({ ready: true });
