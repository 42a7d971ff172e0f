/** The audit trail in SQLite: one file per chain under <data-dir>/audit/, the signing key in keys.db. */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../config.js";
import type { KeyStore } from "../keystore/keystore.js";
import { ChainSet, auditDir, chainPath, keysPath } from "./chains.js";
import { openAuditDatabase } from "./database.js";
import { readDigests, writeDigest, type SignedDigest } from "./digest.js";
import { lookupChain, markCreated, pruneBefore } from "./queries.js";
import type { AuditEvent } from "./record.js";
import { loadOrCreateSigningKey, publicKeyPem, type AuditSigningKey } from "./signing-key.js";
import { openChainWriter, type ChainWriter } from "./sqlite-writer.js";
import type { AuditSync } from "../config.js";
import type { Logger } from "../log.js";
import { mergePage, type AccessKeyUse, type AuditStore, type LastUse, type LookupQuery, type StoredEvent } from "./store.js";

export class SqliteAuditStore implements AuditStore {
  readonly appendsInFlight = 16;
  private readonly chainSet: ChainSet;
  private writer: ChainWriter | undefined;
  private claim: Database.Database | undefined;

  /** `ownChain`: the chain this process appends to; none for a reader such as `keyhold audit export`. */
  constructor(
    private readonly dataDir: string,
    private readonly ownChain?: string,
    private readonly sync: AuditSync = "commit",
    private readonly log?: Logger,
  ) {
    this.chainSet = new ChainSet(dataDir);
  }

  async start(now: number): Promise<void> {
    if (this.ownChain === undefined) return;
    this.claimChain(this.ownChain);
    markCreated(this.chainSet.get(this.ownChain), now);
    this.writer = openChainWriter(chainPath(this.dataDir, this.ownChain), this.ownChain, this.sync, this.log);
    await this.writer.start();
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

  async lookup(q: LookupQuery): Promise<{ events: StoredEvent[]; cursor?: Record<string, number> }> {
    return mergePage(
      this.chainSet.all().flatMap(({ chain, db }) => lookupChain(db, chain, q)),
      q,
    );
  }

  async lastUse(arn: string): Promise<LastUse | undefined> {
    const row = this.newest<{ event_id: string; event_name: string; event_time: number; request_id: string }>(
      "SELECT event_id, event_name, event_time, request_id FROM audit_key_last_use WHERE arn = ?",
      arn,
    );
    return row && { eventId: row.event_id, eventName: row.event_name, eventTime: Number(row.event_time), requestId: row.request_id };
  }

  async accessKeyLastUse(accessKeyId: string): Promise<AccessKeyUse | undefined> {
    const row = this.newest<{ event_time: number; event_source: string; region: string | null }>(
      "SELECT event_time, event_source, region FROM audit_events WHERE access_key_id = ? AND username IS NOT NULL ORDER BY seq DESC LIMIT 1",
      accessKeyId,
    );
    return row && { eventTime: Number(row.event_time), eventSource: row.event_source, region: row.region ?? undefined };
  }

  /** Of the rows one query finds in each chain (one at most per chain), the one with the newest event_time. */
  private newest<R extends { event_time: number }>(sql: string, arg: string): R | undefined {
    let best: R | undefined;
    for (const { db } of this.chainSet.all()) {
      const row = db.prepare(sql).get(arg) as R | undefined;
      if (row && (!best || Number(row.event_time) > Number(best.event_time))) best = row;
    }
    return best;
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
    return targets.filter(({ db }) => writeDigest(db, key, now) !== undefined).length;
  }

  async prune(cutoff: number): Promise<number> {
    return this.chainSet.all().reduce((n, { db }) => n + pruneBefore(db, cutoff), 0);
  }

  async chains(): Promise<string[]> {
    return this.chainSet.all().map((c) => c.chain);
  }

  async *records(chain: string): AsyncIterable<{ time: number; record: string }> {
    const rows = this.chainSet.get(chain).prepare("SELECT event_time, record FROM audit_events ORDER BY seq").iterate() as Iterable<{
      event_time: number;
      record: string;
    }>;
    for (const r of rows) yield { time: Number(r.event_time), record: r.record };
  }

  async digests(chain: string): Promise<SignedDigest[]> {
    return readDigests(this.chainSet.get(chain));
  }

  /**
   * One process per chain: a second server started on this data directory would append to the
   * same chain and break its sequence, so it is refused here, in words. The claim is an
   * exclusive SQLite lock on a file of its own, held while the process lives; the operating
   * system drops it with the process, even one killed with -9.
   */
  private claimChain(chain: string): void {
    mkdirSync(auditDir(this.dataDir), { recursive: true, mode: 0o700 });
    const lock = new Database(join(auditDir(this.dataDir), `.claim-${chain}`));
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
    await this.writer?.close();
    this.chainSet.close();
    this.claim?.close();
  }
}
