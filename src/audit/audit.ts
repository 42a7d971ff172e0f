/**
 * The audit trail of a keyhold process: records every call in this process's own hash chain before
 * its response leaves, answers lookups over every chain, and — in the process that runs the
 * scheduler — writes signed digests of every chain at a fixed interval and deletes events past the
 * retention period. Each process digests its own chain when it shuts down.
 */
import type { CompletedCall } from "../call.js";
import type { Clock } from "../clock.js";
import { DAY_MS } from "../clock.js";
import type { KeyStore } from "../keystore/keystore.js";
import type { Logger } from "../log.js";
import { ChainSet, chainPath, keysPath } from "./chains.js";
import { openAuditDatabase } from "./database.js";
import { writeDigest } from "./digest.js";
import { AuditReader, markCreated, pruneBefore } from "./queries.js";
import { buildEvent, buildServiceEvent, type ServiceAction } from "./record.js";
import { loadOrCreateSigningKey, type AuditSigningKey } from "./signing-key.js";
import { AuditTrail } from "./trail.js";

export interface AuditOptions {
  dataDir: string;
  /** This process's chain: the worker number, 1 for a single process. */
  chain: number;
  keystore: KeyStore;
  clock: Clock;
  log: Logger;
  digestIntervalMs: number;
  retentionDays: number;
}

/** Makes (or loads) the audit signing key; the primary of `--workers N` calls it before forking. */
export function prepareSigningKey(dataDir: string, keystore: KeyStore, now: number): AuditSigningKey {
  const db = openAuditDatabase(keysPath(dataDir));
  try {
    return loadOrCreateSigningKey(db, keystore, now);
  } finally {
    db.close();
  }
}

export class Audit {
  readonly reader: AuditReader;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly chains: ChainSet,
    private readonly trail: AuditTrail,
    private readonly key: AuditSigningKey,
    private readonly options: AuditOptions,
  ) {
    this.reader = new AuditReader(chains);
  }

  static async open(options: AuditOptions): Promise<Audit> {
    const chains = new ChainSet(options.dataDir);
    const key = prepareSigningKey(options.dataDir, options.keystore, options.clock.now());
    markCreated(chains.get(options.chain), options.clock.now());
    const trail = new AuditTrail(chainPath(options.dataDir, options.chain), options.chain);
    await trail.start();
    return new Audit(chains, trail, key, options);
  }

  /** The CallObserver the protocol adapters report to. */
  readonly completed = (call: CompletedCall): Promise<void> => this.trail.record(buildEvent(call));

  /** Records what the service did by itself, such as deleting a key at the end of its window. */
  serviceEvent(action: ServiceAction): Promise<void> {
    return this.trail.record(buildServiceEvent(action));
  }

  /** Writes a digest for every chain with new events; returns how many were written. */
  digest(): number {
    let written = 0;
    for (const { db } of this.chains.all()) if (writeDigest(db, this.key, this.options.clock.now())) written++;
    return written;
  }

  /** Deletes events past the retention period, in whole digest ranges; returns how many. */
  prune(): number {
    const cutoff = this.options.clock.now() - this.options.retentionDays * DAY_MS;
    return this.chains.all().reduce((n, { db }) => n + pruneBefore(db, cutoff), 0);
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
    if (this.timer) clearInterval(this.timer);
    await this.trail.close();
    try {
      writeDigest(this.chains.get(this.options.chain), this.key, this.options.clock.now());
    } finally {
      this.chains.close();
    }
  }
}
