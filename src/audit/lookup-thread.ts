/**
 * The worker thread that answers a SQLite trail's lookups (LookupEvents) and reads a key's last
 * use (GetKeyLastUsage), so that reading the trail's files never holds up the event loop that
 * serves every other call. It keeps its own
 * connections to the chains' SQLite files (WAL: it reads while the writer writes). Lookups run
 * interleaved, a slice of index blocks at a time (trail-index.ts BLOCKS_PER_SLICE), so a lookup
 * that must read many blocks does not make the others wait for all of them. The thread runs at a
 * lower CPU priority than the event loop (below).
 */
import { readlinkSync } from "node:fs";
import { constants, setPriority } from "node:os";
import { setImmediate as nextTurn } from "node:timers/promises";
import { parentPort, workerData } from "node:worker_threads";
import { ChainSet } from "./chains.js";
import { keyLastUse, lookupChain, newestInChains } from "./queries.js";
import { segmentDir } from "./segments.js";
import { mergePage, type LastUse, type LookupQuery, type StoredEvent } from "./store.js";

export type LookupPage = { events: StoredEvent[]; cursor?: Record<string, number> };

/** A lookup, or the key whose last use is asked for. */
export type LookupRequest = { id: number; q: LookupQuery } | { id: number; lastUse: string };

export type LookupReply = { id: number; result: LookupPage | LastUse | undefined } | { id: number; error: string };

const { dataDir } = workerData as { dataDir: string };
const chains = new ChainSet(dataDir);

/**
 * On Linux a thread has a nice value of its own: this one's is lowered (PRIORITY_BELOW_NORMAL), so
 * that when lookups and calls compete for the CPU, the scheduler gives the event loop that serves
 * the calls its turn first; lookups still have every idle cycle. Elsewhere (no /proc/thread-self)
 * the thread keeps the process's priority.
 */
export function lowerThreadPriority(): boolean {
  try {
    const tid = Number(/task\/(\d+)$/.exec(readlinkSync("/proc/thread-self"))?.[1]);
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, constants.priority.PRIORITY_BELOW_NORMAL);
    return true;
  } catch {
    return false;
  }
}
lowerThreadPriority();

async function lookup(q: LookupQuery): Promise<LookupPage> {
  const candidates: StoredEvent[] = [];
  for (const { chain, db } of chains.all()) {
    const steps = lookupChain(segmentDir(dataDir, chain), chain, db, q);
    for (let step = steps.next(); ; step = steps.next()) {
      if (step.done) {
        candidates.push(...step.value);
        break;
      }
      await nextTurn();
    }
  }
  return mergePage(candidates, q);
}

async function lastUse(arn: string): Promise<LastUse | undefined> {
  return newestInChains(dataDir, chains, (dir, db) => keyLastUse(dir, db, arn));
}

parentPort!.on("message", (request: LookupRequest) => {
  const { id } = request;
  ("q" in request ? lookup(request.q) : lastUse(request.lastUse)).then(
    (result) => parentPort!.postMessage({ id, result } satisfies LookupReply),
    (error: unknown) => parentPort!.postMessage({ id, error: (error as Error).message ?? String(error) } satisfies LookupReply),
  );
});
