/**
 * The index of a SQLite chain's records, kept in the chain's SQLite file beside its meta and last
 * uses (schema.ts, migration 3):
 *
 * - audit_blocks: the records in runs ("blocks") of consecutive records of one segment, at most
 *   BLOCK_EVENTS each, with where they lie in the segment (byte range) and their eventTime bounds.
 *   `run_max` is the largest max_time of this block and every earlier one: it only grows along the
 *   chain, so the blocks a time range can skip at either end are found by one index seek each.
 * - audit_postings: for each attribute value a lookup can ask for (EventId, EventName, ReadOnly,
 *   Username, ResourceName/ResourceType, EventSource, AccessKeyId), within the account and region
 *   every lookup filters on, and for the account and region alone (a lookup by time), the blocks
 *   holding a record with that value, keyed by segment first. A key is a 53-bit hash of the kind,
 *   the value, the account and the region: a collision only makes a lookup read a block it did not
 *   need, since every record read is checked against the query as before. With the account in the
 *   key, a block where another account made the call a lookup asks for is not read (migration 4:
 *   three times fewer blocks for a rare EventName on a trail of three accounts). Keyed by segment, the
 *   writer's inserts (random in the value) land in the newest segment's part of the B-tree alone,
 *   a few MB that stay in the page cache, and retention deletes a range; a lookup seeks once per
 *   segment. Each use of a key (a successful cryptographic call) is posted under the key's ARN as
 *   well (keyUseKey), which GetKeyLastUsage follows (queries.ts keyLastUse).
 *
 * The writer (log-writer.ts) adds the blocks of what it has synced to the chain when it saves the
 * access keys' last uses, every 100 ms, in the same transaction, on a connection with synchronous=NORMAL: no
 * commit and no fsync is added to a call. `indexed_seq` (audit_meta) says up to where the index
 * goes; readers scan the records after it, newest first, as they scanned everything before. A
 * crash loses at most the index's tail, which the writer rebuilds from the segments when it
 * starts; an index ahead of the chain (records a power loss took back) is cut back to the chain.
 */
import type Database from "better-sqlite3";
import { fieldsOfRecord, type AuditEvent } from "./record.js";
import { linesInOrder, listSegments, sequenceOf } from "./segments.js";
import type { LookupQuery } from "./store.js";

/** Records per block, at most: a lookup reads a whole block (~35 KB) for each block a value is posted in. */
export const BLOCK_EVENTS = 32;

/** The fields of an event the index keeps (an AuditEvent, or RecordFields read back from a record). */
export type IndexedFields = Pick<
  AuditEvent,
  | "eventId"
  | "eventTime"
  | "accountId"
  | "region"
  | "eventSource"
  | "eventName"
  | "username"
  | "accessKeyId"
  | "readOnly"
  | "resources"
  | "usesKeys"
>;

export interface Block {
  firstSeq: number;
  lastSeq: number;
  /** The segment's first sequence number (its name). */
  segment: number;
  start: number;
  end: number;
  minTime: number;
  maxTime: number;
  keys: Set<number>;
}

/**
 * A 53-bit hash of a string (cyrb53: two 32-bit multiply-xor lanes). Not cryptographic, and need
 * not be: a collision costs a block read, never a wrong answer.
 */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** A value's key within an account and region (`scope`, from scopeOf). */
function postingKey(scope: string, kind: string, value: string): number {
  return hash53(`${scope}\u0000${kind}\u0000${value}`);
}

function scopeOf(accountId: string, region: string): string {
  return `${accountId}\u0000${region}`;
}

/**
 * The posting of a key's uses (a successful cryptographic operation with it, which GetKeyLastUsage
 * reports): by the key's ARN alone, which names its account and region.
 */
export function keyUseKey(arn: string): number {
  return postingKey("", "KeyUse", arn);
}

/** The posting a lookup follows: its attribute's, or (time range only) its account's and region's. */
export function queryKey(q: LookupQuery): number {
  const scope = scopeOf(q.accountId, q.region);
  if (!q.attribute) return postingKey(scope, "Account", "");
  const { key, value } = q.attribute;
  switch (key) {
    // Both match a resource's type or its ARN (queries.ts `matches`), so both follow one posting.
    case "ResourceName":
    case "ResourceType":
      return postingKey(scope, "Resource", value);
    // Any value but "true" asks for the events that are not read-only.
    case "ReadOnly":
      return postingKey(scope, "ReadOnly", value === "true" ? "true" : "false");
    default:
      return postingKey(scope, key, value);
  }
}

/**
 * A record's keys: its uses of keys, and its attributes within its account and region. One
 * without an account or a region has no attribute posted: every lookup asks for an account and a
 * region (queries.ts `matches`), so no lookup wants it.
 */
function addKeys(keys: Set<number>, e: IndexedFields): void {
  if (e.usesKeys) for (const r of e.resources) keys.add(keyUseKey(r.arn));
  if (e.accountId === undefined || e.region === undefined) return;
  const scope = scopeOf(e.accountId, e.region);
  keys.add(postingKey(scope, "Account", ""));
  keys.add(postingKey(scope, "EventId", e.eventId));
  keys.add(postingKey(scope, "EventName", e.eventName));
  keys.add(postingKey(scope, "EventSource", e.eventSource));
  keys.add(postingKey(scope, "ReadOnly", e.readOnly ? "true" : "false"));
  if (e.username !== undefined) keys.add(postingKey(scope, "Username", e.username));
  if (e.accessKeyId !== undefined) keys.add(postingKey(scope, "AccessKeyId", e.accessKeyId));
  for (const r of e.resources) {
    keys.add(postingKey(scope, "Resource", r.arn));
    keys.add(postingKey(scope, "Resource", r.type));
  }
}

/** Blocks being built from consecutive records, in sequence order. */
export class IndexBatch {
  blocks: Block[] = [];

  /**
   * Adds records `firstSeq`… that lie, one after the other, in `segment` from byte `start` on,
   * record i ending at `ends[i]`. Each joins the last block when it follows it in the same segment
   * and the block has room, or begins the next: a block never holds more than BLOCK_EVENTS records,
   * however large the writer's batch (a batch of 256 was one block of ~300 KB, which a lookup for a
   * rare value read whole for each record it wanted).
   */
  add(events: IndexedFields[], firstSeq: number, segment: number, start: number, ends: number[]): void {
    let block = this.blocks.at(-1);
    let at = start;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const seq = firstSeq + i;
      if (!block || block.segment !== segment || block.end !== at || block.lastSeq - block.firstSeq + 1 >= BLOCK_EVENTS) {
        block = { firstSeq: seq, lastSeq: seq - 1, segment, start: at, end: at, minTime: Infinity, maxTime: -Infinity, keys: new Set() };
        this.blocks.push(block);
      }
      block.lastSeq = seq;
      block.end = at = ends[i]!;
      // The time the record shows (to the second), which lookups match, not the call's own to the millisecond.
      const time = Math.floor(e.eventTime / 1000) * 1000;
      if (time < block.minTime) block.minTime = time;
      if (time > block.maxTime) block.maxTime = time;
      addKeys(block.keys, e);
    }
  }

  /** Appends a later batch, joining its first block to this one's last where they follow on. */
  merge(later: IndexBatch): void {
    for (const b of later.blocks) {
      const last = this.blocks.at(-1);
      if (last && last.segment === b.segment && last.end === b.start && b.lastSeq - last.firstSeq + 1 <= BLOCK_EVENTS) {
        last.lastSeq = b.lastSeq;
        last.end = b.end;
        last.minTime = Math.min(last.minTime, b.minTime);
        last.maxTime = Math.max(last.maxTime, b.maxTime);
        for (const k of b.keys) last.keys.add(k);
      } else this.blocks.push(b);
    }
  }

  get empty(): boolean {
    return this.blocks.length === 0;
  }
}

const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** `db.prepare(sql)`, kept per connection: preparing a lookup's statements was a seventh of a lookup for one event. */
export function prepared(db: Database.Database, sql: string): Database.Statement {
  let mine = statements.get(db);
  if (!mine) statements.set(db, (mine = new Map()));
  let statement = mine.get(sql);
  if (!statement) mine.set(sql, (statement = db.prepare(sql)));
  return statement;
}

export function indexedSeq(db: Database.Database): number {
  const row = prepared(db, "SELECT value FROM audit_meta WHERE key = 'indexed_seq'").get() as { value: string } | undefined;
  return Number(row?.value ?? 0);
}

/** Postings added by one INSERT statement. */
const POSTINGS_PER_INSERT = 128;

/** Records indexed in one transaction when the index catches up with a chain (at most one segment's). */
const CATCH_UP_RECORDS = 32_768;

/** Statements that add blocks to a chain's index; `write` runs inside the caller's transaction. */
export class IndexWriter {
  private readonly block: Database.Statement;
  private readonly posting: Database.Statement;
  private readonly postings: Database.Statement;
  private readonly last: Database.Statement;
  private readonly mark: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.block = db.prepare(
      "INSERT OR REPLACE INTO audit_blocks (first_seq, last_seq, segment, start_offset, end_offset, min_time, max_time, run_max) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.posting = db.prepare("INSERT OR IGNORE INTO audit_postings (segment, key, block) VALUES (?, ?, ?)");
    this.postings = db.prepare(
      `INSERT OR IGNORE INTO audit_postings (segment, key, block) VALUES ${Array(POSTINGS_PER_INSERT).fill("(?, ?, ?)").join(", ")}`,
    );
    this.last = db.prepare("SELECT run_max FROM audit_blocks ORDER BY first_seq DESC LIMIT 1");
    this.mark = db.prepare(
      "INSERT INTO audit_meta (key, value) VALUES ('indexed_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
  }

  /**
   * Adds the blocks and says the index goes up to `seq`. The postings go in POSTINGS_PER_INSERT
   * rows a statement: one call per row was a third of rebuilding an index from the segments.
   */
  write(batch: IndexBatch, seq: number): void {
    let runMax = (this.last.get() as { run_max: number } | undefined)?.run_max ?? -Infinity;
    const values: number[] = [];
    for (const b of batch.blocks) {
      runMax = Math.max(runMax, b.maxTime);
      this.block.run(b.firstSeq, b.lastSeq, b.segment, b.start, b.end, b.minTime, b.maxTime, runMax);
      for (const key of b.keys) {
        values.push(b.segment, key, b.firstSeq);
        if (values.length === 3 * POSTINGS_PER_INSERT) {
          this.postings.run(values);
          values.length = 0;
        }
      }
    }
    for (let i = 0; i < values.length; i += 3) this.posting.run(values[i], values[i + 1], values[i + 2]);
    this.mark.run(String(seq));
  }

  /**
   * At the writer's start: cuts an index ahead of the chain's head back to it, then indexes the
   * records the index has not seen (after a crash, or a trail written before the index), in a
   * transaction per segment (CATCH_UP_RECORDS records at most). Returns how many records it indexed.
   */
  catchUp(dir: string, head: number, retainedFrom: number): number {
    let from = indexedSeq(this.db);
    if (from > head) {
      this.db.transaction(() => {
        this.db.prepare("DELETE FROM audit_blocks WHERE last_seq > ?").run(head);
        const row = this.db.prepare("SELECT max(last_seq) AS seq FROM audit_blocks").get() as { seq: number | null };
        this.mark.run(String(row.seq ?? 0));
      })();
      // Postings of the blocks removed stay: they can only send a lookup to a block that reads as no match.
      from = indexedSeq(this.db);
    }
    from = Math.max(from + 1, retainedFrom);
    if (from > head) return 0;
    let batch = new IndexBatch();
    let count = 0;
    let pending = 0;
    let segment = -1;
    const save = (seq: number) => {
      const b = batch;
      this.db.transaction(() => this.write(b, seq))();
      batch = new IndexBatch();
      pending = 0;
    };
    let seq = 0;
    for (const line of linesInOrder(dir, from)) {
      const next = sequenceOf(line.text);
      if (next < from) continue;
      if (next > head) break;
      // A transaction per segment (or CATCH_UP_RECORDS of one).
      if (pending > 0 && (line.segment.first !== segment || pending >= CATCH_UP_RECORDS)) save(seq);
      seq = next;
      segment = line.segment.first;
      const start = line.end - Buffer.byteLength(line.text) - 1;
      batch.add([fieldsOfRecord(line.text)], seq, segment, start, [line.end]);
      count++;
      pending++;
    }
    if (pending > 0) save(seq);
    return count;
  }
}

export interface BlockRow {
  first_seq: number;
  last_seq: number;
  segment: number;
  start_offset: number;
  end_offset: number;
}

/** How many blocks a lookup reads between two chances for other lookups in its worker to run. */
export const BLOCKS_PER_SLICE = 64;

/**
 * The most segments one query asks at once. Their postings of the value are sorted together: a
 * value missing from the newer segments and common in the older ones costs one sort of up to
 * this many segments' blocks (~1,700 each at 64 MB a segment).
 */
const SEGMENTS_PER_SEEK = 16;

/**
 * The blocks that may hold records a lookup wants, newest first: posted under its key, below
 * `below` and at or above `from` (sequence numbers), indexed no further than `indexed`, and
 * overlapping its time range. A record is stamped with the time its call began and written when
 * the call ended, and no call lasts longer than `longestCallMs`: so once a block's run_max passes
 * EndTime by that much, every later block begins after EndTime; and a block whose run_max is
 * before StartTime has no later-ending record before it.
 */
export function* candidateBlocks(
  dir: string,
  db: Database.Database,
  q: LookupQuery,
  bounds: { below: number; from: number; indexed: number; longestCallMs: number },
  key = queryKey(q),
): Generator<BlockRow[]> {
  let below = Math.min(bounds.below, bounds.indexed + 1);
  let from = bounds.from;
  const start = q.startTime === undefined ? -Infinity : Math.floor(q.startTime / 1000) * 1000;
  const end = q.endTime ?? Infinity;
  if (q.endTime !== undefined) {
    const past = prepared(db, "SELECT first_seq FROM audit_blocks WHERE run_max > ? ORDER BY run_max, first_seq LIMIT 1").get(
      q.endTime + bounds.longestCallMs,
    ) as { first_seq: number } | undefined;
    if (past) below = Math.min(below, past.first_seq + 1);
  }
  if (q.startTime !== undefined) {
    const first = prepared(db, "SELECT first_seq FROM audit_blocks WHERE run_max >= ? ORDER BY run_max, first_seq LIMIT 1").get(start) as
      { first_seq: number } | undefined;
    if (!first) return;
    from = Math.max(from, first.first_seq);
  }
  // One statement per number of segments asked at once (1, 2, 4, … SEGMENTS_PER_SEEK).
  const page = (segments: number): Database.Statement =>
    prepared(
      db,

      `SELECT b.first_seq, b.last_seq, b.segment, b.start_offset, b.end_offset
           FROM audit_postings p JOIN audit_blocks b ON b.first_seq = p.block
          WHERE p.segment IN (${Array(segments).fill("?").join(", ")}) AND p.key = ? AND p.block < ? AND p.block >= ?
            AND b.last_seq <= ? AND b.max_time >= ? AND b.min_time <= ?
          ORDER BY p.block DESC LIMIT ${BLOCKS_PER_SLICE}`,
    );
  // A block whose records all precede `from` can hold none the lookup wants; one that straddles it can.
  const lowest = (prepared(db, "SELECT max(first_seq) AS seq FROM audit_blocks WHERE first_seq <= ?").get(from) as { seq: number | null })
    .seq;
  const floor = lowest ?? from;
  const timeFrom = start === -Infinity ? -Number.MAX_VALUE : start;
  const timeTo = end === Infinity ? Number.MAX_VALUE : end;
  // Newest segment first; a segment's blocks all begin at or after its first record. A value
  // missing from a segment is asked of twice as many at once next time, up to SEGMENTS_PER_SEEK:
  // a lookup for one event (an EventId) made one query per segment, 173 at 10M events.
  const segments = listSegments(dir);
  let group = 1;
  for (let i = segments.length - 1; i >= 0 && below > floor;) {
    const asked: number[] = [];
    for (; i >= 0 && asked.length < group; i--) if (segments[i]!.first < below) asked.push(segments[i]!.first);
    if (asked.length === 0) break;
    const statement = page(asked.length);
    let found = 0;
    for (;;) {
      const rows = statement.all(...asked, key, below, floor, bounds.indexed, timeFrom, timeTo) as BlockRow[];
      if (rows.length > 0) {
        found += rows.length;
        yield rows;
        below = rows.at(-1)!.first_seq;
      }
      if (rows.length < BLOCKS_PER_SLICE) break;
    }
    below = Math.min(below, asked.at(-1)!);
    group = found === 0 ? Math.min(group * 2, SEGMENTS_PER_SEEK) : 1;
  }
}
