/**
 * The audit trail of a node's data directory: per chain, its records in segment files under
 * audit/chain-<c>/ (segments.ts) and its meta, digests and last uses in audit/chain-<c>.db; the
 * signing key in audit/keys.db.
 */
import Database from "better-sqlite3";
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import { privateDatabase } from "../data-dir.js";
import { join } from "node:path";
import { ConfigError } from "../config.js";
import type { KeyStore } from "../keystore/keystore.js";
import { ChainSet, auditDir, chainPath, keysPath } from "./chains.js";
import { openAuditDatabase } from "./database.js";
import { digestSpan, readDigests, writeDigest, type SignedDigest } from "./digest.js";
import {
  accessKeyLastUse,
  newestInChains,
  foldKeyUses,
  keyUsesFolded,
  markCreated,
  prunableTo,
  pruneBefore,
  retainedFrom,
} from "./queries.js";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { LookupPage, LookupReply, LookupRequest } from "./lookup-thread.js";
import type { AuditEvent } from "./record.js";
import { loadOrCreateSigningKey, publicKeyPem, type AuditSigningKey } from "./signing-key.js";
import { ChainLogWriter } from "./log-writer.js";
import { eventTimeOf, fsyncDirectory, linesInOrder, listSegments, segmentDir, segmentName, sequenceOf } from "./segments.js";
import type { AuditSync } from "../config.js";
import type { Logger } from "../log.js";
import { Worker } from "node:worker_threads";
import { type AccessKeyUse, type AuditStore, type LastUse, type LookupQuery, type StoredEvent } from "./store.js";

export class SqliteAuditStore implements AuditStore {
  readonly appendsInFlight = 16;
  private readonly chainSet: ChainSet;
  private writer: ChainLogWriter | undefined;
  private writerDb: Database.Database | undefined;
  private claim: Database.Database | undefined;
  private lookups: LookupThread | undefined;
  private pruning: Promise<number> | undefined;

  /** `ownChain`: the chain this process appends to; none for a reader such as `keyhold audit export`. */
  constructor(
    private readonly dataDir: string,
    private readonly ownChain?: string,
    private readonly sync: AuditSync = "commit",
    private readonly log?: Logger,
    private readonly options: { segmentBytes?: number } = {},
  ) {
    this.chainSet = new ChainSet(dataDir);
  }

  async start(now: number): Promise<void> {
    if (this.ownChain === undefined) return;
    this.claimChain(this.ownChain);
    markCreated(this.chainSet.get(this.ownChain), now);
    // The writer's own connection: it saves the last uses between requests and must never wait
    // on the event loop, for a lock (busy: it tries again 100 ms later) or for the disk. The last
    // uses are derived from the records and saved with the sequence number they cover, so a
    // commit a power loss takes back takes its persisted_seq with it: no fsync per commit.
    const db = (this.writerDb = openAuditDatabase(chainPath(this.dataDir, this.ownChain)));
    db.pragma("busy_timeout = 0");
    db.pragma("synchronous = NORMAL");
    // The index's inserts go to the newest segment's postings (trail-index.ts): a few MB, kept here.
    db.pragma("cache_size = -16384");
    const dir = segmentDir(this.dataDir, this.ownChain);
    moveRowsToSegment(db, dir);
    this.writer = new ChainLogWriter({
      dir,
      chain: this.ownChain,
      db,
      sync: this.sync,
      log: this.log,
      segmentBytes: this.options.segmentBytes,
    });
    this.writer.start();
  }

  private withKeys<T>(fn: (db: Database.Database) => T): T {
    const db = openAuditDatabase(keysPath(this.dataDir));
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }

  async signingKey(keystore: KeyStore, now: number): Promise<AuditSigningKey> {
    return this.withKeys((db) => loadOrCreateSigningKey(db, keystore, now));
  }

  async publicKeyPem(): Promise<string | undefined> {
    return this.withKeys((db) => publicKeyPem(db));
  }

  append(events: AuditEvent[]): Promise<void> {
    if (!this.writer) return Promise.reject(new Error("this audit store has no chain to append to"));
    return this.writer.append(events);
  }

  /** Answered by the lookup thread (lookup-thread.ts): the event loop never reads the trail's files for it. */
  lookup(q: LookupQuery): Promise<{ events: StoredEvent[]; cursor?: Record<string, number> }> {
    this.lookups ??= new LookupThread(this.dataDir);
    return this.lookups.run(q);
  }

  /** Read by the lookup thread too: the newest block posted for the key, found by a seek per group of segments. */
  lastUse(arn: string): Promise<LastUse | undefined> {
    this.lookups ??= new LookupThread(this.dataDir);
    return this.lookups.lastUse(arn);
  }

  async accessKeyLastUse(accessKeyId: string): Promise<AccessKeyUse | undefined> {
    return newestInChains(this.dataDir, this.chainSet, (dir, db) => accessKeyLastUse(dir, db, accessKeyId));
  }

  async trackingStart(): Promise<number | undefined> {
    const times = this.chainSet
      .all()
      .map(({ db }) => db.prepare("SELECT value FROM audit_meta WHERE key = 'created_at'").get() as { value: string } | undefined)
      .filter((r): r is { value: string } => r !== undefined)
      .map((r) => Number(r.value));
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  async digest(key: AuditSigningKey, now: number, chain?: string): Promise<number> {
    const targets = chain === undefined ? this.chainSet.all() : [{ chain, db: this.chainSet.get(chain) }];
    return targets.filter(({ chain, db }) => writeDigest(db, segmentDir(this.dataDir, chain), key, now) !== undefined).length;
  }

  /** First the uses of keys in what goes are folded into their table, a slice per turn of the event loop. */
  prune(cutoff: number): Promise<number> {
    // One pass at a time: a pass still folding when the next is due (a long stretch of the trail
    // leaving at once) is joined, not run twice.
    return (this.pruning ??= this.pruneAll(cutoff).finally(() => (this.pruning = undefined)));
  }

  private async pruneAll(cutoff: number): Promise<number> {
    let removed = 0;
    for (const { chain, db } of this.chainSet.all()) {
      const dir = segmentDir(this.dataDir, chain);
      const upTo = prunableTo(db, cutoff);
      if (upTo > keyUsesFolded(db)) for (const steps = foldKeyUses(dir, db, upTo); !steps.next().done;) await nextTurn();
      removed += pruneBefore(db, dir, cutoff);
    }
    return removed;
  }

  async chains(): Promise<string[]> {
    return this.chainSet.all().map((c) => c.chain);
  }

  async *records(chain: string, start = 1): AsyncIterable<{ time: number; record: string }> {
    const from = Math.max(start, retainedFrom(this.chainSet.get(chain)));
    for (const { text } of linesInOrder(segmentDir(this.dataDir, chain), from)) {
      if (sequenceOf(text) >= from) yield { time: eventTimeOf(text), record: text };
    }
  }

  async digestSpan(chain: string): Promise<{ first: number; last: number } | undefined> {
    return digestSpan(this.chainSet.get(chain));
  }

  async *digests(chain: string, through?: number): AsyncIterable<SignedDigest> {
    yield* readDigests(this.chainSet.get(chain), through);
  }

  /**
   * One process per chain: a second server started on this data directory would append to the
   * same chain and break its sequence, so it is refused here, in words. The claim is an
   * exclusive SQLite lock on a file of its own, held while the process lives; the operating
   * system drops it with the process, even one killed with -9.
   */
  private claimChain(chain: string): void {
    mkdirSync(auditDir(this.dataDir), { recursive: true, mode: 0o700 });
    const lockPath = join(auditDir(this.dataDir), `.claim-${chain}`);
    privateDatabase(lockPath);
    const lock = new Database(lockPath);
    try {
      lock.pragma("busy_timeout = 0");
      lock.exec("BEGIN EXCLUSIVE");
    } catch {
      lock.close();
      throw new ConfigError(
        `audit chain ${chain} of ${this.dataDir} is in use by another keyhold process: start one server per data directory (--workers N for more processes)`,
      );
    }
    this.claim = lock;
  }

  async close(): Promise<void> {
    await this.lookups?.close();
    await this.writer?.close();
    this.writerDb?.close();
    this.chainSet.close();
    this.claim?.close();
  }
}

/**
 * A trail written before records moved to segment files had them in the audit_events table: they
 * become the chain's first segment, unchanged (same text, so the same hashes and links), and leave
 * the table. A crash between the two leaves the segment whole (it is renamed into place once
 * synced), and the next start only empties the table.
 */
function moveRowsToSegment(db: Database.Database, dir: string): void {
  const first = db.prepare("SELECT min(seq) AS seq FROM audit_events").get() as { seq: number | null };
  if (first.seq === null) return;
  if (listSegments(dir).length === 0) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, segmentName(first.seq));
    const fd = openSync(`${path}.moving`, "w", 0o600);
    try {
      for (const { record } of db.prepare("SELECT record FROM audit_events ORDER BY seq").iterate() as Iterable<{ record: string }>) {
        writeSync(fd, record + "\n");
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(`${path}.moving`, path);
    fsyncDirectory(dir);
  }
  db.prepare("DELETE FROM audit_events").run();
}

/**
 * The main thread's side of the lookup thread: started on the first lookup, it keeps the process
 * alive only while a lookup is under way, and a thread that dies is started again by the next.
 */
class LookupThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: (r: LookupPage | LastUse | undefined) => void; reject: (e: Error) => void }>();
  private next = 0;

  constructor(private readonly dataDir: string) {}

  run(q: LookupQuery): Promise<LookupPage> {
    return this.ask({ id: this.next++, q }) as Promise<LookupPage>;
  }

  lastUse(arn: string): Promise<LastUse | undefined> {
    return this.ask({ id: this.next++, lastUse: arn }) as Promise<LastUse | undefined>;
  }

  private ask(request: LookupRequest): Promise<LookupPage | LastUse | undefined> {
    const worker = this.worker ?? this.startWorker();
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage(request);
    });
  }

  private startWorker(): Worker {
    const worker = new Worker(new URL("./lookup-thread.js", import.meta.url), { workerData: { dataDir: this.dataDir } });
    worker.on("message", (reply: LookupReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if ("error" in reply) waiting.reject(new Error(`audit lookup failed: ${reply.error}`));
      else waiting.resolve(reply.result);
    });
    const gone = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const w of this.pending.values()) w.reject(error);
      this.pending.clear();
    };
    worker.on("error", gone);
    worker.on("exit", (code) => gone(new Error(`the audit lookup thread exited (${code})`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
