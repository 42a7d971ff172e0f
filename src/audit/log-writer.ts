/**
 * The writer of a process's own chain. The trail hands it each turn of the event loop's events
 * (group commit); it links them onto the chain (store.ts linkBatch) and appends their records to
 * the newest segment (segments.ts) in one write, on the event loop: that puts them in the
 * operating system, which a kill -9 cannot take. Then, as `--audit-sync` says:
 *
 * - commit: the append resolves once an fdatasync begun after its write has ended. The fdatasync
 *   runs on libuv's thread pool, so the event loop never waits for the disk, and every append
 *   made while one is in flight shares the next (one fsync serves them all);
 * - periodic: the append resolves at once, and the segment is fdatasynced every 100 ms when
 *   there were appends: a power loss can take the last 100 ms, a crash of keyhold nothing.
 *
 * Nothing but the records is written per event. Every 100 ms, in one transaction of the chain's
 * SQLite file, this writer adds what is on disk to the trail index (trail-index.ts; `indexed_seq`
 * says up to where), which LookupEvents reads and which posts each use of a key for
 * GetKeyLastUsage, and brings the small table of each access key's last use up to date
 * (`persisted_seq`) for GetAccessKeyLastUsed; readers scan the records after that point
 * (queries.ts). Per key nothing is saved: a table of each key's last use, rewritten at random
 * places of a B-tree as calls used random keys among 100,000, was a fifth of the CPU of such
 * calls. A segment is closed once it passes SEGMENT_BYTES and the next one begins; retention
 * deletes whole segments.
 *
 * Should a write or an fdatasync fail, the writer cuts the segment back to its last whole record
 * and fails every append from then on (the callers get a 500), rather than acknowledge calls the
 * trail may not hold.
 */
import type Database from "better-sqlite3";
import { closeSync, fdatasync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { AuditSync } from "../config.js";
import type { Logger } from "../log.js";
import { GENESIS_HASH } from "./database.js";
import { fieldsOfRecord, type AuditEvent, type RecordFields } from "./record.js";
import { persistedSeq, retainedFrom, settleKeyUses } from "./queries.js";
import { IndexBatch, IndexWriter, indexedSeq } from "./trail-index.js";
import {
  fsyncDirectory,
  linesNewestFirst,
  listSegments,
  newestLine,
  segmentForward,
  segmentName,
  sequenceOf,
  type Segment,
} from "./segments.js";
import { linkBatch } from "./store.js";
import { hash } from "node:crypto";

export const SEGMENT_BYTES = 64 * 1024 * 1024;
const SYNC_INTERVAL_MS = 100;

interface AccessKeyUse {
  seq: number;
  eventTime: number;
  eventSource: string;
  region: string | null;
}

/** The newest use of each KMS key and each access key among some events, and their index blocks. */
class Uses {
  accessKeys = new Map<string, AccessKeyUse>();
  index = new IndexBatch();

  /** Events in sequence order: later ones replace earlier ones. */
  add(e: Omit<AuditEvent, "recordPrefix">, seq: number): void {
    // Only a call whose signature checked out (it has a username) uses its access key.
    if (e.accessKeyId !== undefined && e.username !== undefined) {
      this.accessKeys.set(e.accessKeyId, { seq, eventTime: e.eventTime, eventSource: e.eventSource, region: e.region ?? null });
    }
  }

  merge(later: Uses): void {
    for (const [k, v] of later.accessKeys) this.accessKeys.set(k, v);
    this.index.merge(later.index);
  }

  get empty(): boolean {
    return this.accessKeys.size === 0 && this.index.empty;
  }
}

export interface ChainLogOptions {
  dir: string;
  chain: string;
  /** The chain's SQLite file: its meta and last-use tables. */
  db: Database.Database;
  sync: AuditSync;
  log?: Logger;
  segmentBytes?: number;
}

export class ChainLogWriter {
  private fd = -1;
  private size = 0;
  /** The newest segment's first sequence number (its name). */
  private segment = 0;
  private head: { seq: number; hash: Buffer } = { seq: 0, hash: GENESIS_HASH };
  private readonly segmentBytes: number;
  /** Appends waiting for the next fdatasync (commit), and whether one is under way. */
  private waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private syncing = false;
  private dirty = false;
  /** Uses written since the last fdatasync began; those it covered; the sequence number it covered. */
  private unsynced = new Uses();
  private synced = new Uses();
  private syncedSeq = 0;
  private persistedSeq = 0;
  private retired: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private readonly persistUses: (uses: Uses, seq: number) => void;
  private readonly index: IndexWriter;

  constructor(private readonly options: ChainLogOptions) {
    this.segmentBytes = options.segmentBytes ?? SEGMENT_BYTES;
    const { db } = options;
    const accessKeyUse = db.prepare(
      `INSERT INTO audit_access_key_last_use (access_key_id, seq, event_time, event_source, region) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (access_key_id) DO UPDATE SET seq = excluded.seq, event_time = excluded.event_time,
         event_source = excluded.event_source, region = excluded.region`,
    );
    const mark = db.prepare(
      "INSERT INTO audit_meta (key, value) VALUES ('persisted_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
    this.index = new IndexWriter(db);
    this.persistUses = db.transaction((uses: Uses, seq: number) => {
      for (const [id, u] of uses.accessKeys) accessKeyUse.run(id, u.seq, u.eventTime, u.eventSource, u.region);
      mark.run(String(seq));
      this.index.write(uses.index, seq);
    });
  }

  /** Recovers the chain's head (cutting a record a crash left half-written) and opens its newest segment. */
  start(): void {
    const { dir, db } = this.options;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const segments = listSegments(dir);
    const newest = segments.at(-1);
    if (newest) {
      // What follows the last whole record of the chain was never acknowledged (or is the last
      // 100 ms before a power loss, in periodic mode): it goes, so the next record starts on a
      // line of its own and links to a record the chain holds.
      const whole = wholePrefix(newest);
      this.fd = openSync(newest.path, "r+");
      const size = fstatSync(this.fd).size;
      if (size !== whole.end) {
        ftruncateSync(this.fd, whole.end);
        fsyncSync(this.fd);
        this.options.log?.info(
          `audit: chain ${this.options.chain} ended in ${size - whole.end} bytes of records never synced; they were cut`,
        );
      }
      this.size = whole.end;
      this.segment = newest.first;
      // The newest segment may hold no record yet: the head is then the previous segment's last.
      const last = whole.last ?? newestLine(dir)?.text;
      if (last !== undefined) this.head = { seq: sequenceOf(last), hash: hash("sha256", last, "buffer") as unknown as Buffer };
    } else {
      this.openSegment(1);
    }
    this.syncedSeq = this.head.seq;
    // From here on persisted_seq covers access keys alone (queries.ts settleKeyUses). Waiting for
    // the lock if the process that runs retention holds it, not failing the start.
    const busy = db.pragma("busy_timeout", { simple: true }) as number;
    db.pragma("busy_timeout = 10000");
    try {
      settleKeyUses(dir, db, this.head.seq);
    } finally {
      db.pragma(`busy_timeout = ${busy}`);
    }
    // The records the index has not seen: after a crash, the last 100 ms or so; after an upgrade
    // that changed the index (schema.ts migration 4), the whole chain.
    const behind = this.head.seq - Math.max(indexedSeq(db), retainedFrom(db) - 1);
    if (behind > 100_000) {
      this.options.log?.info(
        `audit: indexing ${behind} records of chain ${this.options.chain} (the index is new or behind; about a minute per million records)`,
      );
    }
    const began = performance.now();
    const indexed = this.index.catchUp(dir, this.head.seq, retainedFrom(db));
    if (indexed > 0) {
      const seconds = ((performance.now() - began) / 1000).toFixed(1);
      this.options.log?.info(`audit: indexed ${indexed} records of chain ${this.options.chain} the index had not seen (${seconds} s)`);
    }
    // Access keys used in what the last run wrote to its segment but not yet to their table. A
    // table ahead of the chain (records a power loss took back after their uses were saved) is
    // rebuilt from the records; a key's use from such a record leaves the table of key uses.
    this.persistedSeq = persistedSeq(db);
    if (this.persistedSeq > this.head.seq) {
      db.exec("DELETE FROM audit_access_key_last_use; DELETE FROM audit_meta WHERE key = 'persisted_seq'");
      this.persistedSeq = 0;
    }
    const missed: RecordFields[] = [];
    for (const line of linesNewestFirst(dir)) {
      const fields = fieldsOfRecord(line.text);
      if (fields.seq <= this.persistedSeq) break;
      missed.push(fields);
    }
    for (const fields of missed.reverse()) this.synced.add(fields, fields.seq);
    this.persist();
    this.timer = setInterval(() => this.tick(), SYNC_INTERVAL_MS);
    this.timer.unref();
  }

  append(events: AuditEvent[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const { linked, head } = linkBatch(events, this.options.chain, this.head);
    let text = "";
    for (const l of linked) text += l.text + "\n";
    const bytes = Buffer.from(text, "utf8");
    try {
      if (this.size > 0 && this.size + bytes.length > this.segmentBytes) this.rotate(linked[0]!.seq);
      for (let done = 0; done < bytes.length;) done += writeSync(this.fd, bytes, done, bytes.length - done, this.size + done);
    } catch (error) {
      this.fail(error as Error);
      return Promise.reject(this.failure);
    }
    // Where each record ends in the segment, so that the index's blocks stay BLOCK_EVENTS records at most.
    const ends: number[] = [];
    let end = this.size;
    for (const l of linked) ends.push((end += Buffer.byteLength(l.text) + 1));
    this.unsynced.index.add(events, linked[0]!.seq, this.segment, this.size, ends);
    this.size += bytes.length;
    this.head = head;
    for (const l of linked) this.unsynced.add(l.event, l.seq);
    if (this.options.sync === "periodic") {
      this.dirty = true;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.syncing) this.flush();
    });
  }

  /** Starts an fdatasync covering everything written so far; appends made meanwhile wait for the next. */
  private flush(): void {
    const group = this.waiting;
    const uses = this.unsynced;
    const seq = this.head.seq;
    this.waiting = [];
    this.unsynced = new Uses();
    this.dirty = false;
    this.syncing = true;
    fdatasync(this.fd, (error) => {
      this.syncing = false;
      for (const fd of this.retired.splice(0)) closeSync(fd);
      if (error) {
        this.fail(error);
        for (const w of group) w.reject(this.failure!);
      } else {
        this.synced.merge(uses);
        this.syncedSeq = seq;
        for (const w of group) w.resolve();
      }
      if (this.waiting.length > 0 && !this.failure) this.flush();
      else for (const w of this.waiting.splice(0)) w.reject(this.failure!);
    });
  }

  private tick(): void {
    if (this.failure) return;
    if (this.dirty && !this.syncing) this.flush();
    if (this.syncedSeq > this.persistedSeq) this.persist();
  }

  /** Writes the uses on disk to the tables; busy (a digest being written) leaves them for the next tick. */
  private persist(): void {
    if (this.syncedSeq <= this.persistedSeq && this.synced.empty) return;
    try {
      this.persistUses(this.synced, this.syncedSeq);
    } catch (error) {
      if ((error as { code?: string }).code === "SQLITE_BUSY") return;
      this.options.log?.error(`audit: the last uses of chain ${this.options.chain} were not saved: ${(error as Error).message}`);
      return;
    }
    this.synced = new Uses();
    this.persistedSeq = this.syncedSeq;
  }

  /** Closes the full segment (synced first, so a new segment never exists ahead of its predecessor's end on disk). */
  private rotate(first: number): void {
    fsyncSync(this.fd);
    if (this.syncing) this.retired.push(this.fd);
    else closeSync(this.fd);
    this.openSegment(first);
  }

  private openSegment(first: number): void {
    const { dir } = this.options;
    this.fd = openSync(join(dir, segmentName(first)), "wx+", 0o600);
    this.size = 0;
    this.segment = first;
    fsyncDirectory(dir);
  }

  /** Cuts the segment back to its last whole record and refuses every append from now on. */
  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = new Error(`audit write failed: ${error.message}`);
    try {
      ftruncateSync(this.fd, this.size);
    } catch {
      // The half-written record stays; the next start cuts it (start() keeps whole lines only).
    }
    this.options.log?.error(
      `audit: chain ${this.options.chain} can take no more records (${error.message}); every call fails until a restart`,
    );
  }

  /** Waits for the last fdatasync, syncs what is left and saves the last uses. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    while (this.syncing) await new Promise((r) => setTimeout(r, 1));
    if (this.fd < 0) return;
    if (!this.failure) {
      fsyncSync(this.fd);
      this.synced.merge(this.unsynced);
      this.unsynced = new Uses();
      this.syncedSeq = this.head.seq;
      const busy = this.options.db.pragma("busy_timeout", { simple: true }) as number;
      this.options.db.pragma("busy_timeout = 5000");
      this.persist();
      this.options.db.pragma(`busy_timeout = ${busy}`);
    }
    closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * The whole records at the start of a segment: each line numbered one after the line before (the
 * first, as the segment's name says) and linked to its hash, the last one valid JSON. A crash can
 * leave the end of what was written since the last fdatasync torn or, after a power loss, with
 * blocks of zeros in it; this is where that begins.
 */
function wholePrefix(segment: Segment): { end: number; last?: string } {
  let whole: { end: number; last?: string } = { end: 0 };
  let before = whole;
  let expected = segment.first;
  let previousHash: string | undefined;
  for (const line of segmentForward(segment, 0)) {
    if (sequenceOf(line.text) !== expected) break;
    if (previousHash !== undefined && !line.text.endsWith(`"keyholdPreviousHash":"${previousHash}"}}`)) break;
    before = whole;
    whole = { end: line.end, last: line.text };
    previousHash = hash("sha256", line.text, "hex");
    expected++;
  }
  if (whole.last === undefined) return whole;
  try {
    JSON.parse(whole.last);
    return whole;
  } catch {
    // A successor would have vouched for it by its link; the last one must parse.
    return before;
  }
}
