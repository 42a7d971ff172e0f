/**
 * The audit writer of `--audit-sync commit`: a worker thread that owns its chain file's write
 * connection, so the fsync of each group commit happens off the event loop. It receives batches,
 * appends each in one transaction and answers with the sequence numbers (or the error) once the
 * commit is on disk (fsynced).
 */
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { makeAppender, retryWhileBusy } from "./append.js";
import { openAuditDatabase } from "./database.js";
import { decodeEvents } from "./wire-events.js";

const { path, chain } = workerData as { path: string; chain: string };
const db = openAuditDatabase(path);
db.pragma("busy_timeout = 0");
const appendOnce = makeAppender(db, chain);

type Message = { id: number; events: string } | { close: true };

function close(): void {
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
    const events = batches.flatMap((b) => decodeEvents(b.events));
    try {
      retryWhileBusy(() => appendOnce(events));
      parentPort!.postMessage({ ids });
    } catch (error) {
      parentPort!.postMessage({ ids, error: (error as Error).message });
    }
  }
  if (closing) close();
});
parentPort!.postMessage({ ready: true });
