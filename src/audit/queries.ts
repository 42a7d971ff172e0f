/**
 * Reading and pruning one SQLite chain: its records in segment files (segments.ts), its meta,
 * digests, last uses and index (trail-index.ts) in its SQLite file. Lookups read the blocks of
 * records the index points them to, and scan the few records after the index's end; a cheap text
 * test skips most records before one is parsed.
 */
import type Database from "better-sqlite3";
import { rmSync } from "node:fs";
import { fieldsOfRecord, type RecordFields } from "./record.js";
import {
  SegmentReader,
  eventTimeOf,
  linesHolding,
  linesInOrder,
  linesNewestFirst,
  listSegments,
  segmentDir,
  sequenceOf,
} from "./segments.js";
import { candidateBlocks, indexedSeq, keyUseKey, prepared } from "./trail-index.js";
import type { AccessKeyUse, LastUse, LookupQuery, StoredEvent } from "./store.js";
import type { ChainSet } from "./chains.js";

/**
 * How much older than a lookup's StartTime a record may be and still be followed by a record the
 * lookup wants: records are in the order calls ended, stamped with the time they began.
 */
const LONGEST_CALL_MS = 15 * 60_000;

export function retainedFrom(db: Database.Database): number {
  const row = prepared(db, "SELECT value FROM audit_meta WHERE key = 'retained_from'").get() as { value: string } | undefined;
  return Number(row?.value ?? 1);
}

function matches(e: RecordFields, q: LookupQuery): boolean {
  if (e.accountId !== q.accountId || e.region !== q.region) return false;
  if (q.startTime !== undefined && e.eventTime < Math.floor(q.startTime / 1000) * 1000) return false;
  if (q.endTime !== undefined && e.eventTime > q.endTime) return false;
  if (!q.attribute) return true;
  const { key, value } = q.attribute;
  switch (key) {
    case "EventId":
      return e.eventId === value;
    case "EventName":
      return e.eventName === value;
    case "Username":
      return e.username === value;
    case "EventSource":
      return e.eventSource === value;
    case "AccessKeyId":
      return e.accessKeyId === value;
    case "ReadOnly":
      return e.readOnly === (value === "true");
    case "ResourceName":
    case "ResourceType":
      // As the PostgreSQL store matches them: the value is one of a resource's type or ARN.
      return e.resources.some((r) => r.arn === value || r.type === value);
  }
}

/**
 * A chain's events that a lookup wants, newest first (by sequence number), up to one more than its
 * limit (so the caller knows whether to give a NextToken). The records after the index's end are
 * scanned, then the index's blocks (trail-index.ts) that may hold such records are read. A
 * generator: it yields after each slice of blocks, so that a worker running several lookups
 * takes turns between them; its return value is the events.
 */
export function* lookupChain(dir: string, chain: string, db: Database.Database, q: LookupQuery): Generator<void, StoredEvent[]> {
  // Every wanted record holds these texts (as JSON strings, or within one: the root's Username
  // "root" is in its ARN); most others are passed over unparsed.
  const needles = [JSON.stringify(q.accountId), JSON.stringify(q.region)];
  if (q.attribute && q.attribute.key !== "ReadOnly") needles.push(JSON.stringify(q.attribute.value).slice(1, -1));
  const before = q.before?.[chain];
  // One snapshot of how far the index goes and where the chain is retained from.
  const { indexed, from } = db.transaction(() => ({ indexed: indexedSeq(db), from: retainedFrom(db) }))();
  const found: StoredEvent[] = [];
  /** Takes a record if the lookup wants it; false once the lookup has its page. */
  const take = (text: string, seq: number): boolean => {
    if (!needles.every((n) => text.includes(n))) return true;
    const e = fieldsOfRecord(text);
    if (!matches(e, q)) return true;
    found.push({
      chain,
      seq,
      eventId: e.eventId,
      eventTime: e.eventTime,
      eventName: e.eventName,
      eventSource: e.eventSource,
      readOnly: e.readOnly,
      accessKeyId: e.accessKeyId,
      username: e.username,
      requestId: e.requestId,
      record: text,
      resources: e.resources,
    });
    return found.length <= q.limit;
  };
  // The records the index does not cover yet: at most the last 100 ms of a running writer.
  for (const { text } of linesNewestFirst(dir, before)) {
    const seq = sequenceOf(text);
    if (seq <= indexed || seq < from) break;
    if (before !== undefined && seq >= before) continue;
    if (q.startTime !== undefined && eventTimeOf(text) < q.startTime - LONGEST_CALL_MS) return found;
    if (!take(text, seq)) return found;
  }
  const bounds = { below: before ?? Infinity, from, indexed, longestCallMs: LONGEST_CALL_MS };
  // The needle most records of a block lack: only the lines holding it are decoded.
  const needle = Buffer.from(needles.at(-1)!);
  const reader = new SegmentReader(dir);
  try {
    for (const slice of candidateBlocks(dir, db, q, bounds)) {
      for (const block of slice) {
        const data = reader.read(block.segment, block.start_offset, block.end_offset);
        if (!data) continue;
        for (const text of linesHolding(data, needle)) {
          const seq = sequenceOf(text);
          if (before !== undefined && seq >= before) continue;
          if (seq < from) break;
          if (!take(text, seq)) return found;
        }
      }
      yield;
    }
    return found;
  } finally {
    reader.close();
  }
}

/** Runs a lookup generator to its end on the calling thread (the worker interleaves them instead). */
export function runToEnd<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Up to which sequence number the chain's access-key last-use table is saved (the writer keeps it). */
export function persistedSeq(db: Database.Database): number {
  const row = db.prepare("SELECT value FROM audit_meta WHERE key = 'persisted_seq'").get() as { value: string } | undefined;
  return Number(row?.value ?? 0);
}

/**
 * Up to which sequence number audit_key_last_use holds each key's last use. Before the index held
 * the uses of keys, the writer kept the table up to persisted_seq (its value when that writer first
 * started again is kept as this); since, only retention adds to it (foldKeyUses).
 */
export function keyUsesFolded(db: Database.Database): number {
  const row = db
    .prepare("SELECT value FROM audit_meta WHERE key IN ('key_uses_folded', 'persisted_seq') ORDER BY key = 'key_uses_folded' DESC LIMIT 1")
    .get() as { value: string } | undefined;
  return Number(row?.value ?? 0);
}

function markKeyUsesFolded(db: Database.Database, seq: number): void {
  prepared(
    db,
    "INSERT INTO audit_meta (key, value) VALUES ('key_uses_folded', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  ).run(String(seq));
}

/**
 * What a chain's writer does with the table of key uses when it starts, the chain's head known:
 * - on a trail from before the index held uses, it fixes where the table ends (keyUsesFolded) at
 *   persisted_seq, and folds in the uses of records the index took after it (that version saved
 *   the index first and the uses next: a crash between the two leaves them in neither);
 * - a table ahead of the chain (uses of records a power loss took back) loses those rows and is
 *   made again from the retained records, since a row taken back may have replaced an earlier use
 *   that a trail from before has nowhere else. Rare, and as long as reading the trail once.
 */
export function settleKeyUses(dir: string, db: Database.Database, head: number): void {
  if (prepared(db, "SELECT 1 FROM audit_meta WHERE key = 'key_uses_folded'").get() === undefined) {
    const persisted = persistedSeq(db);
    markKeyUsesFolded(db, persisted);
    const indexed = Math.min(indexedSeq(db), head);
    if (indexed > persisted) runToEnd(foldKeyUses(dir, db, indexed));
  }
  if (keyUsesFolded(db) > head) {
    db.transaction(() => {
      db.prepare("DELETE FROM audit_key_last_use WHERE seq > ?").run(head);
      markKeyUsesFolded(db, retainedFrom(db) - 1);
    })();
    runToEnd(foldKeyUses(dir, db, head));
  }
}

/**
 * The newest record after `after` that passes `test`; `needle` is a text every such record holds.
 * The writer saves the index and the access keys' last uses every 100 ms, so this reads little.
 */
function newestAfter(dir: string, after: number, needle: string, test: (e: RecordFields) => boolean): RecordFields | undefined {
  for (const { text } of linesNewestFirst(dir)) {
    if (sequenceOf(text) <= after) return undefined;
    if (!text.includes(needle)) continue;
    const e = fieldsOfRecord(text);
    if (test(e)) return e;
  }
  return undefined;
}

/** Of what one query finds in each chain of a data directory (one at most per chain), the newest. */
export function newestInChains<R extends { eventTime: number }>(
  dataDir: string,
  chains: ChainSet,
  find: (dir: string, db: Database.Database) => R | undefined,
): R | undefined {
  let best: R | undefined;
  for (const { chain, db } of chains.all()) {
    const found = find(segmentDir(dataDir, chain), db);
    if (found && (!best || found.eventTime > best.eventTime)) best = found;
  }
  return best;
}

/** A key's row of audit_key_last_use: its use, and where in the chain it was. */
function lastUseRow(db: Database.Database, arn: string): (LastUse & { seq: number }) | undefined {
  const row = prepared(db, "SELECT seq, event_id, event_name, event_time, request_id FROM audit_key_last_use WHERE arn = ?").get(arn) as
    { seq: number; event_id: string; event_name: string; event_time: number; request_id: string } | undefined;
  return (
    row && { seq: row.seq, eventId: row.event_id, eventName: row.event_name, eventTime: Number(row.event_time), requestId: row.request_id }
  );
}

/** Whether a record is a use of the key `arn` (a successful cryptographic operation with it). */
const usesKey = (arn: string) => (e: RecordFields) => e.usesKeys && e.resources.some((r) => r.arn === arn);

/**
 * The newest use of a key in the chain: in the records after the index's end, else in the newest
 * block the index posts the key's uses in (trail-index.ts keyUseKey), else in the table of uses
 * that retention removed from the trail (foldKeyUses; a trail indexed before the index held uses
 * has them there up to where it was then). Whichever of the last two is later in the chain.
 */
export function keyLastUse(dir: string, db: Database.Database, arn: string): LastUse | undefined {
  const { indexed, from } = db.transaction(() => ({ indexed: indexedSeq(db), from: retainedFrom(db) }))();
  const needle = JSON.stringify(arn);
  const needleBytes = Buffer.from(needle);
  const isUse = usesKey(arn);
  const use = (e: LastUse): LastUse => ({
    eventId: e.eventId,
    eventName: e.eventName,
    eventTime: e.eventTime,
    requestId: e.requestId,
  });
  const tail = newestAfter(dir, Math.max(indexed, from - 1), needle, isUse);
  if (tail) return use(tail);
  const row = lastUseRow(db, arn);
  const bounds = { below: Infinity, from: Math.max(from, (row?.seq ?? 0) + 1), indexed, longestCallMs: LONGEST_CALL_MS };
  const reader = new SegmentReader(dir);
  try {
    const q = { accountId: "", region: "", limit: 1 };
    for (const slice of candidateBlocks(dir, db, q, bounds, keyUseKey(arn))) {
      for (const block of slice) {
        const data = reader.read(block.segment, block.start_offset, block.end_offset);
        if (!data) continue;
        for (const text of linesHolding(data, needleBytes)) {
          if (sequenceOf(text) < bounds.from) break;
          const e = fieldsOfRecord(text);
          if (isUse(e)) return use(e);
        }
      }
    }
  } finally {
    reader.close();
  }
  // Retention may have folded the key's last use into the table and removed its records while
  // this looked for them: the row is read again (the fold commits it before the records go).
  const folded = row ?? lastUseRow(db, arn);
  return folded && use(folded);
}

/** Records read, or keys written, between two turns of the event loop while a fold runs. */
const FOLD_SLICE = 2048;

/** Keys whose last use a fold holds in memory at most (~200 B each) before it writes them to the table. */
const FOLD_KEYS = 10_000;

type FoldedUse = Pick<RecordFields, "seq" | "eventId" | "eventName" | "eventTime" | "requestId">;

/**
 * Before retention removes records up to `upTo`, the last use of each key among them goes to
 * audit_key_last_use (keyUsesFolded says up to where it holds them), so GetKeyLastUsage still finds
 * a key's use older than the retained trail. Reads the records after the table's end and writes
 * the table in key order, a slice at a time: a generator, whose caller yields the event loop
 * between slices. Writing a key again is harmless (a use replaces only an earlier one), so the end
 * moves only once everything before it is written. Returns where the table ends now.
 */
export function* foldKeyUses(dir: string, db: Database.Database, upTo: number): Generator<void, number> {
  const save = db.prepare(
    `INSERT INTO audit_key_last_use (arn, seq, event_id, event_name, event_time, request_id) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (arn) DO UPDATE SET seq = excluded.seq, event_id = excluded.event_id, event_name = excluded.event_name,
       event_time = excluded.event_time, request_id = excluded.request_id
     WHERE excluded.seq > audit_key_last_use.seq`,
  );
  const writeSlice = db.transaction((uses: FoldedUse[], arns: string[], end: number | undefined) => {
    for (let i = 0; i < arns.length; i++)
      save.run(arns[i], uses[i]!.seq, uses[i]!.eventId, uses[i]!.eventName, uses[i]!.eventTime, uses[i]!.requestId);
    if (end !== undefined) markKeyUsesFolded(db, end);
  });
  /** Writes the uses read so far, then says the table goes up to `end`. */
  function* write(uses: Map<string, FoldedUse>, end: number): Generator<void> {
    const arns = [...uses.keys()].sort();
    for (let at = 0; at < arns.length || at === 0; at += FOLD_SLICE) {
      const slice = arns.slice(at, at + FOLD_SLICE);
      writeSlice(
        slice.map((arn) => uses.get(arn)!),
        slice,
        at + FOLD_SLICE >= arns.length ? end : undefined,
      );
      yield;
    }
  }
  const folded = keyUsesFolded(db);
  let uses = new Map<string, FoldedUse>();
  let seq = folded;
  let read = 0;
  for (const { text } of linesInOrder(dir, folded + 1)) {
    const next = sequenceOf(text);
    if (next > upTo) break;
    // The lines before the table's end in its segment are passed over, a slice a turn as well.
    if (++read % FOLD_SLICE === 0) yield;
    if (next <= folded) continue;
    seq = next;
    // Only KMS's calls use keys: a record of another service is not parsed.
    if (text.includes("kms.amazonaws.com")) {
      const e = fieldsOfRecord(text);
      if (e.usesKeys) {
        const use = { seq: e.seq, eventId: e.eventId, eventName: e.eventName, eventTime: e.eventTime, requestId: e.requestId };
        for (const r of e.resources) uses.set(r.arn, use);
      }
    }
    if (uses.size >= FOLD_KEYS) {
      yield* write(uses, seq);
      uses = new Map();
    }
  }
  // Records retention removed before (below the retained start) have nothing left to read.
  const end = Math.max(seq, Math.min(upTo, retainedFrom(db) - 1));
  yield* write(uses, end);
  return end;
}

export function accessKeyLastUse(dir: string, db: Database.Database, accessKeyId: string): AccessKeyUse | undefined {
  const test = (e: RecordFields) => e.accessKeyId === accessKeyId && e.username !== undefined;
  const e = newestAfter(dir, persistedSeq(db), JSON.stringify(accessKeyId), test);
  if (e) return { eventTime: e.eventTime, eventSource: e.eventSource, region: e.region };
  const row = db
    .prepare("SELECT event_time, event_source, region FROM audit_access_key_last_use WHERE access_key_id = ?")
    .get(accessKeyId) as { event_time: number; event_source: string; region: string | null } | undefined;
  return row && { eventTime: Number(row.event_time), eventSource: row.event_source, region: row.region ?? undefined };
}

export function markCreated(db: Database.Database, now: number): void {
  db.prepare("INSERT OR IGNORE INTO audit_meta (key, value) VALUES ('created_at', ?)").run(String(now));
}

/** The last record retention may remove: the end of the last digest range wholly before `cutoff`; 0 for none. */
export function prunableTo(db: Database.Database, cutoff: number): number {
  const last = db.prepare("SELECT max(last_seq) AS seq FROM audit_digests WHERE end_time < ?").get(cutoff) as { seq: number | null };
  return last.seq ?? 0;
}

/**
 * Deletes events older than `cutoff`, in whole digest ranges only, so what remains starts at a
 * digest whose previousEventHash anchors the chain: still verifiable from the retained start.
 * Readers skip records below `retained_from`; a segment goes once all its records are below it
 * (never the newest, which its writer appends to), and an index block once all its records are.
 */
export function pruneBefore(db: Database.Database, dir: string, cutoff: number): number {
  const removed = db
    .transaction(() => {
      // Never past the uses of keys folded into their table (foldKeyUses runs first).
      const last = db
        .prepare("SELECT max(last_seq) AS seq FROM audit_digests WHERE end_time < ? AND last_seq <= ?")
        .get(cutoff, keyUsesFolded(db)) as { seq: number | null };
      const from = retainedFrom(db);
      if (last.seq === null || last.seq < from) return 0;
      db.prepare(
        "INSERT INTO audit_meta (key, value) VALUES ('retained_from', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ).run(String(last.seq + 1));
      db.prepare("DELETE FROM audit_digests WHERE last_seq <= ?").run(last.seq);
      // The index's blocks whose records are all gone, and what points to them.
      db.prepare("DELETE FROM audit_blocks WHERE last_seq <= ?").run(last.seq);
      const oldest = db.prepare("SELECT segment FROM audit_blocks ORDER BY first_seq LIMIT 1").get() as { segment: number } | undefined;
      if (oldest) db.prepare("DELETE FROM audit_postings WHERE segment < ?").run(oldest.segment);
      return last.seq + 1 - from;
    })
    .immediate();
  const segments = listSegments(dir);
  const keepFrom = retainedFrom(db);
  for (let i = 0; i + 1 < segments.length && segments[i + 1]!.first <= keepFrom; i++) rmSync(segments[i]!.path, { force: true });
  return removed;
}
