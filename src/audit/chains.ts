/**
 * The trail is a set of hash chains, one per writer process (`--workers N` gives N chains), each in
 * its own SQLite file under <data-dir>/audit/, so writers never wait for each other's commits.
 * Readers, digests, retention and export go over every chain present.
 */
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { openAuditDatabase } from "./database.js";

export function auditDir(dataDir: string): string {
  return join(dataDir, "audit");
}

export function chainPath(dataDir: string, chain: string): string {
  return join(auditDir(dataDir), `chain-${chain}.db`);
}

/** Where the audit signing key is kept (wrapped by the key store). */
export function keysPath(dataDir: string): string {
  return join(auditDir(dataDir), "keys.db");
}

export function listChains(dataDir: string): { chain: string; path: string }[] {
  let names: string[] = [];
  try {
    names = readdirSync(auditDir(dataDir));
  } catch {
    return [];
  }
  return names
    .map((n) => /^chain-([\w.-]+)\.db$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ chain: m[1]!, path: join(auditDir(dataDir), m[0]) }))
    .sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : 0));
}

/** Open connections to every chain; chains created by other processes are picked up on the next call. */
export class ChainSet {
  private readonly open = new Map<string, Database.Database>();

  constructor(private readonly dataDir: string) {
    mkdirSync(auditDir(dataDir), { recursive: true, mode: 0o700 });
  }

  all(): { chain: string; db: Database.Database }[] {
    for (const { chain, path } of listChains(this.dataDir)) {
      if (!this.open.has(chain)) this.open.set(chain, openAuditDatabase(path));
    }
    return [...this.open.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([chain, db]) => ({ chain, db }));
  }

  get(chain: string): Database.Database {
    let db = this.open.get(chain);
    if (!db) {
      db = openAuditDatabase(chainPath(this.dataDir, chain));
      this.open.set(chain, db);
    }
    return db;
  }

  close(): void {
    for (const db of this.open.values()) db.close();
    this.open.clear();
  }
}
