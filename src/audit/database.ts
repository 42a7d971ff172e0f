/** Opens an audit file (a chain, or keys.db) with the same durability settings as the key database, and migrates it. */
import Database from "better-sqlite3";
import { privateDatabase, privateDir } from "../data-dir.js";
import { dirname } from "node:path";
import { AUDIT_MIGRATIONS } from "./schema.js";

export function openAuditDatabase(path: string): Database.Database {
  privateDir(dirname(path));
  // 0600 before SQLite opens it (it would make it 0644, and its -wal and -shm the same).
  privateDatabase(path);
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 10000");
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  db.transaction(() => {
    const applied = new Set((db.prepare("SELECT id FROM schema_migrations").all() as { id: number }[]).map((r) => r.id));
    for (const m of AUDIT_MIGRATIONS) {
      if (applied.has(m.id)) continue;
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)").run(m.id, m.name, Date.now());
    }
  }).immediate();
  return db;
}

export const GENESIS_HASH = Buffer.alloc(32);
