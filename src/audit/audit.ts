/**
 * The audit trail of a keyhold process: records every call before its response leaves, answers
 * lookups, and — in the process that runs the scheduler — writes signed digests at a fixed
 * interval and at shutdown, and deletes events past the retention period.
 */
import type Database from "better-sqlite3";
import type { Clock } from "../clock.js";
import { DAY_MS } from "../clock.js";
import type { KeyStore } from "../keystore/keystore.js";
import type { Logger } from "../log.js";
import { openAuditDatabase } from "./database.js";
import { writeDigest, type SignedDigest } from "./digest.js";
import { AuditReader, markCreated, pruneBefore } from "./queries.js";
import type { CompletedCall } from "../call.js";
import { buildEvent, buildServiceEvent, type ServiceAction } from "./record.js";
import { loadOrCreateSigningKey, type AuditSigningKey } from "./signing-key.js";
import { AuditTrail } from "./trail.js";

export interface AuditOptions {
  path: string;
  keystore: KeyStore;
  clock: Clock;
  log: Logger;
  digestIntervalMs: number;
  retentionDays: number;
}

export class Audit {
  readonly reader: AuditReader;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly db: Database.Database,
    private readonly trail: AuditTrail,
    private readonly key: AuditSigningKey,
    private readonly options: AuditOptions,
  ) {
    this.reader = new AuditReader(db);
  }

  static async open(options: AuditOptions): Promise<Audit> {
    const db = openAuditDatabase(options.path);
    markCreated(db, options.clock.now());
    const key = loadOrCreateSigningKey(db, options.keystore, options.clock.now());
    const trail = new AuditTrail(options.path);
    await trail.start();
    return new Audit(db, trail, key, options);
  }

  /** The CallObserver the protocol adapters report to. */
  readonly completed = (call: CompletedCall): Promise<void> => this.trail.record(buildEvent(call));

  /** Records what the service did by itself, such as deleting a key at the end of its window. */
  serviceEvent(action: ServiceAction): Promise<void> {
    return this.trail.record(buildServiceEvent(action));
  }

  digest(): SignedDigest | undefined {
    return writeDigest(this.db, this.key, this.options.clock.now());
  }

  prune(): number {
    return pruneBefore(this.db, this.options.clock.now() - this.options.retentionDays * DAY_MS);
  }

  /** Digests and retention run in one process only (the one that runs the scheduler). */
  startDigests(): void {
    this.timer = setInterval(() => {
      try {
        this.digest();
        this.prune();
      } catch (error) {
        this.options.log.error(`audit digest failed: ${(error as Error).stack ?? String(error)}`);
      }
    }, this.options.digestIntervalMs);
    this.timer.unref();
  }

  get publicKeyPem(): string {
    return this.key.publicKeyPem;
  }

  async close(): Promise<void> {
    const digesting = this.timer !== undefined;
    if (this.timer) clearInterval(this.timer);
    await this.trail.close();
    if (digesting) this.digest();
    this.db.close();
  }
}
