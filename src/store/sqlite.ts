/**
 * The embedded SQLite repository (better-sqlite3). WAL journal with synchronous=FULL: a commit is
 * on disk before the call returns, so an acknowledged write survives kill -9 and power loss.
 * secure_delete overwrites deleted rows, so destroyed key material does not linger in free pages.
 */
import Database from "better-sqlite3";
import { privateDatabase, privateDir } from "../data-dir.js";
import { dirname } from "node:path";
import type { DocumentWrite, KeyPatch, Repository } from "./repository.js";
import type {
  AccessKeyRecord,
  AccountRecord,
  AliasRecord,
  DocumentKind,
  DocumentRecord,
  ImportTokenRecord,
  KeyRecord,
  KeyVersionRecord,
  Page,
  Tag,
} from "./records.js";
import { SQLITE_MIGRATIONS } from "./sqlite-migrations.js";
import {
  accessKeyValues,
  documentValues,
  KEY_COLUMNS,
  page,
  toAccessKey,
  toAlias,
  toDocument,
  toImportToken,
  KEY_SELECT,
  toKey,
  toKeyFromValues,
  toVersion,
  toVersionFromValues,
  VERSION_SELECT,
  type Row,
} from "./rows.js";

function sqlValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  return value;
}

/** A GLOB pattern matching names that start with `prefix` (its metacharacters bracketed). */
function globPrefix(prefix: string): string {
  return prefix.replace(/[*?[]/g, (c) => `[${c}]`) + "*";
}

export class SqliteRepository implements Repository {
  readonly kind = "sqlite";
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string) {
    if (path !== ":memory:") {
      privateDir(dirname(path));
      // Made 0600 before SQLite opens it: SQLite would make it 0644, and its -wal and -shm after it.
      privateDatabase(path);
    }
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("foreign_keys = ON");
    this.db.pragma("secure_delete = ON");
    this.db.pragma("busy_timeout = 5000");
    this.migrate();
  }

  private migrate(): void {
    this.db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    const applied = new Set((this.db.prepare("SELECT id FROM schema_migrations").all() as Row[]).map((r) => Number(r.id)));
    for (const m of SQLITE_MIGRATIONS) {
      if (applied.has(m.id)) continue;
      this.db
        .transaction(() => {
          this.db.exec(m.sql);
          this.db.prepare("INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)").run(m.id, m.name, Date.now());
        })
        .immediate();
    }
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * The reads every request past the record cache makes (a key and a key version by id): rows as
   * arrays of exactly the columns a record has, no object built per row and no column looked up by name.
   */
  private keyByIdStmt: Database.Statement | undefined;
  private versionByIdStmt: Database.Statement | undefined;

  private keyById(): Database.Statement {
    return (this.keyByIdStmt ??= this.db.prepare(`SELECT ${KEY_SELECT} FROM kms_keys WHERE key_id = ?`).raw(true));
  }

  private versionById(): Database.Statement {
    return (this.versionByIdStmt ??= this.db
      .prepare(`SELECT ${VERSION_SELECT} FROM kms_key_versions WHERE key_id = ? AND version = ?`)
      .raw(true));
  }

  /** SQLite's data_version: it moves when another connection commits, never for our own commits. */
  changeToken(): number {
    return this.stmt("PRAGMA data_version").pluck().get() as number;
  }

  /** With SQLite one process (or worker 1 of --workers) is the scheduler by configuration. */
  async schedulerLease(): Promise<boolean> {
    return true;
  }

  async readSeal(): Promise<Buffer | undefined> {
    const row = this.stmt("SELECT sealed FROM keystore_seal WHERE id = 1").get() as Row | undefined;
    return row ? (row.sealed as Buffer) : undefined;
  }

  async writeSeal(sealed: Buffer): Promise<boolean> {
    return this.stmt("INSERT INTO keystore_seal (id, sealed) VALUES (1, ?) ON CONFLICT DO NOTHING").run(sealed).changes === 1;
  }

  async replaceSeal(current: Buffer, next: Buffer): Promise<boolean> {
    return this.stmt("UPDATE keystore_seal SET sealed = ? WHERE id = 1 AND sealed = ?").run(next, current).changes === 1;
  }

  async createAccount(a: AccountRecord): Promise<void> {
    this.stmt("INSERT INTO accounts (account_id, created_at) VALUES (?, ?)").run(a.accountId, a.createdAt);
  }

  async getAccount(accountId: string): Promise<AccountRecord | undefined> {
    const r = this.stmt("SELECT * FROM accounts WHERE account_id = ?").get(accountId) as Row | undefined;
    return r ? { accountId: r.account_id as string, createdAt: Number(r.created_at) } : undefined;
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (this.stmt("SELECT * FROM accounts ORDER BY account_id").all() as Row[]).map((r) => ({
      accountId: r.account_id as string,
      createdAt: Number(r.created_at),
    }));
  }

  async putAccessKey(k: AccessKeyRecord): Promise<void> {
    this.stmt(
      `INSERT INTO access_keys (access_key_id, account_id, wrapped_secret, status, created_at, user_name, session) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (access_key_id) DO UPDATE SET wrapped_secret = excluded.wrapped_secret, status = excluded.status`,
    ).run(...accessKeyValues(k));
  }

  async getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined> {
    const r = this.stmt("SELECT * FROM access_keys WHERE access_key_id = ?").get(accessKeyId) as Row | undefined;
    return r ? toAccessKey(r) : undefined;
  }

  async listAccessKeys(accountId: string, userName: string | undefined): Promise<AccessKeyRecord[]> {
    const rows = this.stmt(
      "SELECT * FROM access_keys WHERE account_id = ? AND user_name IS ? AND session IS NULL ORDER BY created_at, access_key_id",
    ).all(accountId, userName ?? null) as Row[];
    return rows.map(toAccessKey);
  }

  async deleteAccessKey(accessKeyId: string): Promise<boolean> {
    return this.stmt("DELETE FROM access_keys WHERE access_key_id = ?").run(accessKeyId).changes === 1;
  }

  async getDocument(kind: DocumentKind, accountId: string, name: string): Promise<DocumentRecord | undefined> {
    const r = this.stmt("SELECT * FROM documents WHERE kind = ? AND account_id = ? AND name = ?").get(kind, accountId, name) as
      Row | undefined;
    return r ? toDocument(r) : undefined;
  }

  async listDocuments(
    kind: DocumentKind,
    accountId: string,
    prefix: string,
    after: string | undefined,
    limit: number,
  ): Promise<Page<DocumentRecord>> {
    const rows = this.stmt(
      // GLOB, not LIKE: SQLite's LIKE ignores ASCII case, and names (S3 keys, IAM paths) are case-sensitive.
      "SELECT * FROM documents WHERE kind = ? AND account_id = ? AND name GLOB ? AND name > ? ORDER BY name LIMIT ?",
    ).all(kind, accountId, globPrefix(prefix), after ?? "", limit + 1) as Row[];
    return page(rows.map(toDocument), limit, (d) => d.name);
  }

  async listDocumentsByRef(kind: DocumentKind, ref: string, after: string | undefined, limit: number): Promise<Page<DocumentRecord>> {
    const rows = this.stmt(
      "SELECT * FROM documents WHERE kind = ? AND ref = ? AND account_id || '/' || name > ? ORDER BY account_id || '/' || name LIMIT ?",
    ).all(kind, ref, after ?? "", limit + 1) as Row[];
    return page(rows.map(toDocument), limit, (d) => `${d.accountId}/${d.name}`);
  }

  async putDocument(doc: DocumentRecord, expectedRevision: number | "new"): Promise<boolean> {
    return this.writeDocument(doc, expectedRevision);
  }

  async putDocuments(writes: readonly DocumentWrite[]): Promise<boolean[]> {
    return this.db.transaction(() => writes.map((w) => this.writeDocument(w.doc, w.expectedRevision)))();
  }

  private writeDocument(doc: DocumentRecord, expectedRevision: number | "new"): boolean {
    if (expectedRevision === "new") {
      return (
        this.stmt(
          "INSERT INTO documents (kind, account_id, name, ref, body, revision, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        ).run(...documentValues(doc)).changes === 1
      );
    }
    return (
      this.stmt("UPDATE documents SET ref = ?, body = ?, revision = ? WHERE kind = ? AND account_id = ? AND name = ? AND revision = ?").run(
        doc.ref ?? null,
        doc.body,
        doc.revision,
        doc.kind,
        doc.accountId,
        doc.name,
        expectedRevision,
      ).changes === 1
    );
  }

  async deleteDocument(kind: DocumentKind, accountId: string, name: string, expectedRevision?: number): Promise<boolean> {
    if (expectedRevision !== undefined) {
      return (
        this.stmt("DELETE FROM documents WHERE kind = ? AND account_id = ? AND name = ? AND revision = ?").run(
          kind,
          accountId,
          name,
          expectedRevision,
        ).changes === 1
      );
    }
    return this.stmt("DELETE FROM documents WHERE kind = ? AND account_id = ? AND name = ?").run(kind, accountId, name).changes === 1;
  }

  async createKey(key: KeyRecord, firstVersion: KeyVersionRecord | undefined, tags: Tag[]): Promise<void> {
    this.db
      .transaction(() => {
        this.stmt(
          `INSERT INTO kms_keys (key_id, account_id, region, description, key_state, key_spec, key_usage, origin, key_manager,
           policy, creation_date, deletion_date, pending_window_days, rotation_enabled, rotation_period_days,
           next_rotation_date, on_demand_rotations, current_version, custom_key_store_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          key.keyId,
          key.accountId,
          key.region,
          key.description,
          key.keyState,
          key.keySpec,
          key.keyUsage,
          key.origin,
          key.keyManager,
          key.policy,
          key.creationDate,
          sqlValue(key.deletionDate),
          sqlValue(key.pendingWindowInDays),
          sqlValue(key.rotationEnabled),
          sqlValue(key.rotationPeriodInDays),
          sqlValue(key.nextRotationDate),
          key.onDemandRotations,
          key.currentVersion,
          sqlValue(key.customKeyStoreId),
        );
        if (firstVersion) this.insertVersion(firstVersion);
        for (const t of tags)
          this.stmt("INSERT INTO kms_tags (key_id, tag_key, tag_value) VALUES (?, ?, ?)").run(key.keyId, t.TagKey, t.TagValue);
      })
      .immediate();
  }

  private insertVersion(v: KeyVersionRecord): void {
    this.stmt(
      "INSERT INTO kms_key_versions (key_id, version, material_id, wrapped_material, created_at, rotation_type) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(v.keyId, v.version, v.materialId, v.wrappedMaterial, v.createdAt, sqlValue(v.rotationType));
  }

  async getKey(keyId: string): Promise<KeyRecord | undefined> {
    const r = this.keyById().get(keyId) as unknown[] | undefined;
    return r ? toKeyFromValues(r) : undefined;
  }

  async listKeys(accountId: string, region: string, after: string | undefined, limit: number): Promise<Page<KeyRecord>> {
    const rows = this.stmt("SELECT * FROM kms_keys WHERE account_id = ? AND region = ? AND key_id > ? ORDER BY key_id LIMIT ?").all(
      accountId,
      region,
      after ?? "",
      limit + 1,
    ) as Row[];
    return page(rows.map(toKey), limit, (k) => k.keyId);
  }

  private patchSql(patch: KeyPatch): { sets: string; values: unknown[] } {
    const names = Object.keys(patch) as (keyof KeyPatch)[];
    return {
      sets: names.map((n) => `${KEY_COLUMNS[n]} = ?`).join(", "),
      values: names.map((n) => sqlValue(patch[n])),
    };
  }

  async updateKey(keyId: string, patch: KeyPatch, expectedState?: string): Promise<boolean> {
    const { sets, values } = this.patchSql(patch);
    if (!sets) return (await this.getKey(keyId)) !== undefined;
    const guard = expectedState === undefined ? "" : " AND key_state = ?";
    const args = expectedState === undefined ? [...values, keyId] : [...values, keyId, expectedState];
    return this.stmt(`UPDATE kms_keys SET ${sets} WHERE key_id = ?${guard}`).run(...args).changes === 1;
  }

  async addKeyVersion(version: KeyVersionRecord, fromVersion: number, patch: KeyPatch): Promise<boolean> {
    const { sets, values } = this.patchSql({ ...patch, currentVersion: version.version });
    return this.db
      .transaction(() => {
        const moved = this.stmt(`UPDATE kms_keys SET ${sets} WHERE key_id = ? AND current_version = ?`).run(
          ...values,
          version.keyId,
          fromVersion,
        );
        if (moved.changes !== 1) return false;
        this.insertVersion(version);
        return true;
      })
      .immediate();
  }

  async getKeyVersion(keyId: string, version: number): Promise<KeyVersionRecord | undefined> {
    const r = this.versionById().get(keyId, version) as unknown[] | undefined;
    return r ? toVersionFromValues(r) : undefined;
  }

  async listKeyVersions(keyId: string): Promise<KeyVersionRecord[]> {
    return (this.stmt("SELECT * FROM kms_key_versions WHERE key_id = ? ORDER BY version").all(keyId) as Row[]).map(toVersion);
  }

  async deleteKey(keyId: string): Promise<void> {
    this.db
      .transaction(() => {
        this.stmt("DELETE FROM kms_tags WHERE key_id = ?").run(keyId);
        this.stmt("DELETE FROM documents WHERE kind = 'kms-grant' AND name GLOB ?").run(globPrefix(keyId + "/"));
        this.stmt("DELETE FROM kms_aliases WHERE target_key_id = ?").run(keyId);
        this.stmt("DELETE FROM kms_key_versions WHERE key_id = ?").run(keyId);
        this.stmt("DELETE FROM kms_keys WHERE key_id = ?").run(keyId);
      })
      .immediate();
    // Move the overwritten pages out of the WAL into the main file, where secure_delete zeroed them.
    this.db.pragma("wal_checkpoint(TRUNCATE)");
  }

  async keysDueForDeletion(now: number): Promise<KeyRecord[]> {
    return (
      this.stmt("SELECT * FROM kms_keys WHERE deletion_date IS NOT NULL AND deletion_date <= ? AND key_state = 'PendingDeletion'").all(
        now,
      ) as Row[]
    ).map(toKey);
  }

  async keysDueForRotation(now: number): Promise<KeyRecord[]> {
    return (
      this.stmt("SELECT * FROM kms_keys WHERE rotation_enabled = 1 AND next_rotation_date IS NOT NULL AND next_rotation_date <= ?").all(
        now,
      ) as Row[]
    ).map(toKey);
  }

  async createAlias(a: AliasRecord): Promise<boolean> {
    const r = this.stmt(
      `INSERT INTO kms_aliases (account_id, region, alias_name, target_key_id, creation_date, last_updated_date)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ).run(a.accountId, a.region, a.aliasName, a.targetKeyId, a.creationDate, a.lastUpdatedDate);
    return r.changes === 1;
  }

  async getAlias(accountId: string, region: string, aliasName: string): Promise<AliasRecord | undefined> {
    const r = this.stmt("SELECT * FROM kms_aliases WHERE account_id = ? AND region = ? AND alias_name = ?").get(
      accountId,
      region,
      aliasName,
    ) as Row | undefined;
    return r ? toAlias(r) : undefined;
  }

  async updateAlias(accountId: string, region: string, aliasName: string, targetKeyId: string, now: number): Promise<boolean> {
    return (
      this.stmt(
        "UPDATE kms_aliases SET target_key_id = ?, last_updated_date = ? WHERE account_id = ? AND region = ? AND alias_name = ?",
      ).run(targetKeyId, now, accountId, region, aliasName).changes === 1
    );
  }

  async deleteAlias(accountId: string, region: string, aliasName: string): Promise<boolean> {
    return (
      this.stmt("DELETE FROM kms_aliases WHERE account_id = ? AND region = ? AND alias_name = ?").run(accountId, region, aliasName)
        .changes === 1
    );
  }

  async listAliases(
    accountId: string,
    region: string,
    keyId: string | undefined,
    after: string | undefined,
    limit: number,
  ): Promise<Page<AliasRecord>> {
    const rows = (
      keyId === undefined
        ? this.stmt("SELECT * FROM kms_aliases WHERE account_id = ? AND region = ? AND alias_name > ? ORDER BY alias_name LIMIT ?").all(
            accountId,
            region,
            after ?? "",
            limit + 1,
          )
        : this.stmt(
            "SELECT * FROM kms_aliases WHERE account_id = ? AND region = ? AND target_key_id = ? AND alias_name > ? ORDER BY alias_name LIMIT ?",
          ).all(accountId, region, keyId, after ?? "", limit + 1)
    ) as Row[];
    return page(rows.map(toAlias), limit, (a) => a.aliasName);
  }

  async putTags(keyId: string, tags: Tag[], maxTags: number): Promise<boolean> {
    try {
      this.db
        .transaction(() => {
          for (const t of tags) {
            this.stmt(
              "INSERT INTO kms_tags (key_id, tag_key, tag_value) VALUES (?, ?, ?) ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
            ).run(keyId, t.TagKey, t.TagValue);
          }
          const count = Number((this.stmt("SELECT count(*) AS n FROM kms_tags WHERE key_id = ?").get(keyId) as Row).n);
          if (count > maxTags) throw new TooManyTags(); // rolls the whole change back
        })
        .immediate();
      return true;
    } catch (error) {
      if (error instanceof TooManyTags) return false;
      throw error;
    }
  }

  async removeTags(keyId: string, tagKeys: string[]): Promise<void> {
    this.db
      .transaction(() => {
        for (const k of tagKeys) this.stmt("DELETE FROM kms_tags WHERE key_id = ? AND tag_key = ?").run(keyId, k);
      })
      .immediate();
  }

  async listTags(keyId: string, after: string | undefined, limit: number): Promise<Page<Tag>> {
    const rows = this.stmt("SELECT tag_key, tag_value FROM kms_tags WHERE key_id = ? AND tag_key > ? ORDER BY tag_key LIMIT ?").all(
      keyId,
      after ?? "",
      limit + 1,
    ) as Row[];
    return page(
      rows.map((r) => ({ TagKey: r.tag_key as string, TagValue: r.tag_value as string })),
      limit,
      (t) => t.TagKey,
    );
  }

  async putImportToken(t: ImportTokenRecord): Promise<void> {
    this.stmt(
      `INSERT INTO kms_import_tokens (token, key_id, wrapping_algorithm, wrapping_key_spec, wrapped_private_key, valid_to)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(t.token, t.keyId, t.wrappingAlgorithm, t.wrappingKeySpec, t.wrappedPrivateKey, t.validTo);
  }

  async getImportToken(token: string): Promise<ImportTokenRecord | undefined> {
    const r = this.stmt("SELECT * FROM kms_import_tokens WHERE token = ?").get(token) as Row | undefined;
    return r ? toImportToken(r) : undefined;
  }

  async importKeyMaterial(version: KeyVersionRecord, patch: KeyPatch): Promise<void> {
    const { sets, values } = this.patchSql({ ...patch, currentVersion: version.version });
    this.db
      .transaction(() => {
        this.stmt("DELETE FROM kms_key_versions WHERE key_id = ?").run(version.keyId);
        this.insertVersion(version);
        this.stmt(`UPDATE kms_keys SET ${sets} WHERE key_id = ?`).run(...values, version.keyId);
      })
      .immediate();
  }

  async deleteKeyMaterial(keyId: string, patch: KeyPatch): Promise<void> {
    const { sets, values } = this.patchSql({ ...patch, currentVersion: 0 });
    this.db
      .transaction(() => {
        this.stmt("DELETE FROM kms_key_versions WHERE key_id = ?").run(keyId);
        this.stmt(`UPDATE kms_keys SET ${sets} WHERE key_id = ?`).run(...values, keyId);
      })
      .immediate();
    this.db.pragma("wal_checkpoint(TRUNCATE)");
  }

  async keysWithExpiredMaterial(now: number): Promise<KeyRecord[]> {
    return (this.stmt("SELECT * FROM kms_keys WHERE valid_to IS NOT NULL AND valid_to <= ? AND current_version > 0").all(now) as Row[]).map(
      toKey,
    );
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

class TooManyTags extends Error {}
