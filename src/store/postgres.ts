/**
 * The PostgreSQL repository (`pg`), selected by KEYHOLD_DATABASE_URL, for several keyhold nodes on
 * one database. Every write commits with a NOTIFY on `keyhold_changes`; each node LISTENs and moves
 * its change token, so the caching layer drops what another node changed. If the listening
 * connection is lost, the token moves on every read until it is back, so caches cannot go stale.
 */
import pg from "pg";
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
import { POSTGRES_MIGRATIONS } from "./postgres-migrations.js";
import {
  accessKeyValues,
  documentValues,
  KEY_COLUMNS,
  likePrefix,
  page,
  toAccessKey,
  toAlias,
  toDocument,
  toImportToken,
  toKey,
  toVersion,
  type Row,
} from "./rows.js";

const CHANNEL = "keyhold_changes";
/** pg_advisory_lock keys: constants shared by every node. */
const MIGRATION_LOCK = 4_207_661;
const SCHEDULER_LOCK = 4_207_662;

export type Query = (sql: string, values?: unknown[]) => Promise<Row[]>;

class TooManyTags extends Error {}

/** Runs `fn` in one transaction on one pooled connection: committed whole, or rolled back whole. */
export async function inTransaction<T>(pool: pg.Pool, fn: (q: Query) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out connection has no listener of the pool's: PostgreSQL ending it between two
  // statements (a restart) would be an unheard 'error' that ends the process. Heard here, the
  // next statement fails instead, and the connection is released as broken, not reused.
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost = error;
  };
  client.on("error", onError);
  try {
    await client.query("BEGIN");
    const result = await fn(async (sql, values) => (await client.query(sql, values)).rows as Row[]);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    lost ??= error instanceof Error && isConnectionLoss(error) ? error : undefined;
    throw error;
  } finally {
    client.removeListener("error", onError);
    client.release(lost);
  }
}

/** Errors after which a connection is no use: PostgreSQL or the network ended it. */
function isConnectionLoss(error: Error): boolean {
  const code = (error as { code?: string }).code ?? "";
  return code.startsWith("57P") || code.startsWith("08") || /Connection terminated|ECONNRESET|EPIPE/.test(error.message);
}

/** Applies the schema migrations once, under an advisory lock, whichever node comes first. */
export async function runPostgresMigrations(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  const onError = () => undefined;
  client.on("error", onError);
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    );
    const applied = new Set((await client.query("SELECT id FROM schema_migrations")).rows.map((r: Row) => Number(r.id)));
    for (const m of POSTGRES_MIGRATIONS) {
      if (applied.has(m.id)) continue;
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query("INSERT INTO schema_migrations (id, name, applied_at) VALUES ($1, $2, $3)", [m.id, m.name, Date.now()]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      }
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
    client.removeListener("error", onError);
    client.release();
  }
}

function value(v: unknown): unknown {
  return v === undefined ? null : v;
}

export class PostgresRepository implements Repository {
  readonly kind = "postgres";
  private token = 0;
  private listening = false;
  private listener: pg.Client | undefined;
  private closed = false;
  /** The connection holding the scheduler lock; the lock goes with it when this node dies. */
  private leaseHolder: pg.Client | undefined;
  private leaseAttempt: Promise<boolean> | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
  ) {}

  static async open(url: string): Promise<PostgresRepository> {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle connection that PostgreSQL closes (a restart) is an 'error' event, which unheard ends
    // the process; the pool drops that connection and the next query opens another.
    pool.on("error", () => undefined);
    const repo = new PostgresRepository(pool, url);
    await repo.migrate();
    await repo.listen();
    return repo;
  }

  private migrate(): Promise<void> {
    return runPostgresMigrations(this.pool);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("notification", () => this.token++);
    client.on("error", () => this.lostListener(client));
    client.on("end", () => this.lostListener(client));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
    this.listening = true;
    this.token++;
  }

  private lostListener(client: pg.Client): void {
    if (this.listener !== client || this.closed) return;
    this.listening = false;
    this.listener = undefined;
    setTimeout(() => {
      if (!this.closed) this.listen().catch(() => this.lostListener(client));
    }, 200).unref();
  }

  /**
   * A session-level advisory lock on a connection of its own: held while this node lives, and
   * released by PostgreSQL when the node (or its connection) dies, so another node's next try wins.
   */
  async schedulerLease(): Promise<boolean> {
    if (this.leaseHolder) return true;
    this.leaseAttempt ??= (async () => {
      const client = new pg.Client({ connectionString: this.url });
      const lost = () => {
        if (this.leaseHolder === client) this.leaseHolder = undefined;
      };
      client.on("error", lost);
      client.on("end", lost);
      try {
        await client.connect();
        const held = (await client.query("SELECT pg_try_advisory_lock($1) AS held", [SCHEDULER_LOCK])).rows[0]?.held === true;
        if (!held) {
          await client.end();
          return false;
        }
        this.leaseHolder = client;
        return true;
      } catch {
        await client.end().catch(() => undefined);
        return false;
      }
    })().finally(() => {
      this.leaseAttempt = undefined;
    });
    return this.leaseAttempt;
  }

  /** Connections of the pool: open, idle, and queries waiting for one (the metrics read it). */
  poolStats(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  /** Moves on every notification; while not listening, on every call (nothing may be cached). */
  changeToken(): number {
    return this.listening ? this.token : ++this.token;
  }

  private readonly q: Query = async (sql, values) => (await this.pool.query(sql, values)).rows as Row[];

  /** Runs `fn` in a transaction that announces the change to every node when it commits. */
  private write<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, async (q) => {
      const result = await fn(q);
      await q("SELECT pg_notify($1, '')", [CHANNEL]);
      return result;
    });
  }

  async readSeal(): Promise<Buffer | undefined> {
    return (await this.q("SELECT sealed FROM keystore_seal WHERE id = 1"))[0]?.sealed as Buffer | undefined;
  }

  async writeSeal(sealed: Buffer): Promise<boolean> {
    return this.write(
      async (q) =>
        (await q("INSERT INTO keystore_seal (id, sealed) VALUES (1, $1) ON CONFLICT DO NOTHING RETURNING id", [sealed])).length === 1,
    );
  }

  async replaceSeal(current: Buffer, next: Buffer): Promise<boolean> {
    return this.write(
      async (q) =>
        (await q("UPDATE keystore_seal SET sealed = $1 WHERE id = 1 AND sealed = $2 RETURNING id", [next, current])).length === 1,
    );
  }

  async createAccount(a: AccountRecord): Promise<void> {
    await this.write((q) => q("INSERT INTO accounts (account_id, created_at) VALUES ($1, $2)", [a.accountId, a.createdAt]));
  }

  async getAccount(accountId: string): Promise<AccountRecord | undefined> {
    const r = (await this.q("SELECT * FROM accounts WHERE account_id = $1", [accountId]))[0];
    return r ? { accountId: r.account_id as string, createdAt: Number(r.created_at) } : undefined;
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (await this.q("SELECT * FROM accounts ORDER BY account_id")).map((r) => ({
      accountId: r.account_id as string,
      createdAt: Number(r.created_at),
    }));
  }

  async putAccessKey(k: AccessKeyRecord): Promise<void> {
    await this.write((q) =>
      q(
        `INSERT INTO access_keys (access_key_id, account_id, wrapped_secret, status, created_at, user_name, session)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (access_key_id) DO UPDATE SET wrapped_secret = excluded.wrapped_secret, status = excluded.status`,
        accessKeyValues(k),
      ),
    );
  }

  async getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined> {
    const r = (await this.q("SELECT * FROM access_keys WHERE access_key_id = $1", [accessKeyId]))[0];
    return r ? toAccessKey(r) : undefined;
  }

  async listAccessKeys(accountId: string, userName: string | undefined): Promise<AccessKeyRecord[]> {
    const rows = await this.q(
      "SELECT * FROM access_keys WHERE account_id = $1 AND user_name IS NOT DISTINCT FROM $2 AND session IS NULL ORDER BY created_at, access_key_id",
      [accountId, userName ?? null],
    );
    return rows.map(toAccessKey);
  }

  async deleteAccessKey(accessKeyId: string): Promise<boolean> {
    return this.write(
      async (q) => (await q("DELETE FROM access_keys WHERE access_key_id = $1 RETURNING access_key_id", [accessKeyId])).length === 1,
    );
  }

  async getDocument(kind: DocumentKind, accountId: string, name: string): Promise<DocumentRecord | undefined> {
    const r = (await this.q("SELECT * FROM documents WHERE kind = $1 AND account_id = $2 AND name = $3", [kind, accountId, name]))[0];
    return r ? toDocument(r) : undefined;
  }

  async listDocuments(
    kind: DocumentKind,
    accountId: string,
    prefix: string,
    after: string | undefined,
    limit: number,
  ): Promise<Page<DocumentRecord>> {
    const rows = await this.q(
      "SELECT * FROM documents WHERE kind = $1 AND account_id = $2 AND name LIKE $3 ESCAPE '\\' AND name > $4 ORDER BY name LIMIT $5",
      [kind, accountId, likePrefix(prefix), after ?? "", limit + 1],
    );
    return page(rows.map(toDocument), limit, (d) => d.name);
  }

  async listDocumentsByRef(kind: DocumentKind, ref: string, after: string | undefined, limit: number): Promise<Page<DocumentRecord>> {
    const rows = await this.q(
      `SELECT * FROM documents WHERE kind = $1 AND ref = $2 AND (account_id || '/' || name) > $3
       ORDER BY (account_id || '/' || name) LIMIT $4`,
      [kind, ref, after ?? "", limit + 1],
    );
    return page(rows.map(toDocument), limit, (d) => `${d.accountId}/${d.name}`);
  }

  async putDocument(doc: DocumentRecord, expectedRevision: number | "new"): Promise<boolean> {
    return this.write((q) => this.writeDocument(q, doc, expectedRevision));
  }

  async putDocuments(writes: readonly DocumentWrite[]): Promise<boolean[]> {
    return this.write(async (q) => {
      const out: boolean[] = [];
      for (const w of writes) out.push(await this.writeDocument(q, w.doc, w.expectedRevision));
      return out;
    });
  }

  private async writeDocument(q: Query, doc: DocumentRecord, expectedRevision: number | "new"): Promise<boolean> {
    if (expectedRevision === "new") {
      const rows = await q(
        `INSERT INTO documents (kind, account_id, name, ref, body, revision, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT DO NOTHING RETURNING name`,
        documentValues(doc),
      );
      return rows.length === 1;
    }
    const rows = await q(
      `UPDATE documents SET ref = $1, body = $2, revision = $3 WHERE kind = $4 AND account_id = $5 AND name = $6 AND revision = $7
       RETURNING name`,
      [doc.ref ?? null, doc.body, doc.revision, doc.kind, doc.accountId, doc.name, expectedRevision],
    );
    return rows.length === 1;
  }

  async deleteDocument(kind: DocumentKind, accountId: string, name: string, expectedRevision?: number): Promise<boolean> {
    const atRevision = expectedRevision === undefined ? "" : " AND revision = $4";
    const values = expectedRevision === undefined ? [kind, accountId, name] : [kind, accountId, name, expectedRevision];
    return this.write(
      async (q) =>
        (await q(`DELETE FROM documents WHERE kind = $1 AND account_id = $2 AND name = $3${atRevision} RETURNING name`, values)).length ===
        1,
    );
  }

  private insertVersion(q: Query, v: KeyVersionRecord): Promise<Row[]> {
    return q(
      "INSERT INTO kms_key_versions (key_id, version, material_id, wrapped_material, created_at, rotation_type) VALUES ($1, $2, $3, $4, $5, $6)",
      [v.keyId, v.version, v.materialId, v.wrappedMaterial, v.createdAt, value(v.rotationType)],
    );
  }

  async createKey(key: KeyRecord, firstVersion: KeyVersionRecord | undefined, tags: Tag[]): Promise<void> {
    await this.write(async (q) => {
      await q(
        `INSERT INTO kms_keys (key_id, account_id, region, description, key_state, key_spec, key_usage, origin, key_manager,
           policy, creation_date, deletion_date, pending_window_days, rotation_enabled, rotation_period_days,
           next_rotation_date, on_demand_rotations, current_version, custom_key_store_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
        [
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
          value(key.deletionDate),
          value(key.pendingWindowInDays),
          key.rotationEnabled,
          value(key.rotationPeriodInDays),
          value(key.nextRotationDate),
          key.onDemandRotations,
          key.currentVersion,
          value(key.customKeyStoreId),
        ],
      );
      if (firstVersion) await this.insertVersion(q, firstVersion);
      for (const t of tags)
        await q("INSERT INTO kms_tags (key_id, tag_key, tag_value) VALUES ($1, $2, $3)", [key.keyId, t.TagKey, t.TagValue]);
    });
  }

  async getKey(keyId: string): Promise<KeyRecord | undefined> {
    const r = (await this.q("SELECT * FROM kms_keys WHERE key_id = $1", [keyId]))[0];
    return r ? toKey(r) : undefined;
  }

  async listKeys(accountId: string, region: string, after: string | undefined, limit: number): Promise<Page<KeyRecord>> {
    const rows = await this.q("SELECT * FROM kms_keys WHERE account_id = $1 AND region = $2 AND key_id > $3 ORDER BY key_id LIMIT $4", [
      accountId,
      region,
      after ?? "",
      limit + 1,
    ]);
    return page(rows.map(toKey), limit, (k) => k.keyId);
  }

  private patchSql(patch: KeyPatch, firstParam: number): { sets: string; values: unknown[] } {
    const names = Object.keys(patch) as (keyof KeyPatch)[];
    return {
      sets: names.map((n, i) => `${KEY_COLUMNS[n]} = $${firstParam + i}`).join(", "),
      values: names.map((n) => value(patch[n])),
    };
  }

  async updateKey(keyId: string, patch: KeyPatch, expectedState?: string): Promise<boolean> {
    const { sets, values } = this.patchSql(patch, 1);
    if (!sets) return (await this.getKey(keyId)) !== undefined;
    const n = values.length;
    const guard = expectedState === undefined ? "" : ` AND key_state = $${n + 2}`;
    const args = expectedState === undefined ? [...values, keyId] : [...values, keyId, expectedState];
    return this.write(
      async (q) => (await q(`UPDATE kms_keys SET ${sets} WHERE key_id = $${n + 1}${guard} RETURNING key_id`, args)).length === 1,
    );
  }

  async addKeyVersion(version: KeyVersionRecord, fromVersion: number, patch: KeyPatch): Promise<boolean> {
    const { sets, values } = this.patchSql({ ...patch, currentVersion: version.version }, 1);
    const n = values.length;
    return this.write(async (q) => {
      const moved = await q(`UPDATE kms_keys SET ${sets} WHERE key_id = $${n + 1} AND current_version = $${n + 2} RETURNING key_id`, [
        ...values,
        version.keyId,
        fromVersion,
      ]);
      if (moved.length !== 1) return false;
      await this.insertVersion(q, version);
      return true;
    });
  }

  async getKeyVersion(keyId: string, version: number): Promise<KeyVersionRecord | undefined> {
    const r = (await this.q("SELECT * FROM kms_key_versions WHERE key_id = $1 AND version = $2", [keyId, version]))[0];
    return r ? toVersion(r) : undefined;
  }

  async listKeyVersions(keyId: string): Promise<KeyVersionRecord[]> {
    return (await this.q("SELECT * FROM kms_key_versions WHERE key_id = $1 ORDER BY version", [keyId])).map(toVersion);
  }

  async deleteKey(keyId: string): Promise<void> {
    await this.write(async (q) => {
      await q("DELETE FROM kms_tags WHERE key_id = $1", [keyId]);
      await q("DELETE FROM documents WHERE kind = 'kms-grant' AND name LIKE $1 ESCAPE '\\'", [likePrefix(keyId + "/")]);
      await q("DELETE FROM kms_aliases WHERE target_key_id = $1", [keyId]);
      await q("DELETE FROM kms_key_versions WHERE key_id = $1", [keyId]);
      await q("DELETE FROM kms_keys WHERE key_id = $1", [keyId]);
    });
  }

  async keysDueForDeletion(now: number): Promise<KeyRecord[]> {
    return (
      await this.q("SELECT * FROM kms_keys WHERE deletion_date IS NOT NULL AND deletion_date <= $1 AND key_state = 'PendingDeletion'", [
        now,
      ])
    ).map(toKey);
  }

  async keysDueForRotation(now: number): Promise<KeyRecord[]> {
    return (
      await this.q("SELECT * FROM kms_keys WHERE rotation_enabled AND next_rotation_date IS NOT NULL AND next_rotation_date <= $1", [now])
    ).map(toKey);
  }

  async createAlias(a: AliasRecord): Promise<boolean> {
    return this.write(
      async (q) =>
        (
          await q(
            `INSERT INTO kms_aliases (account_id, region, alias_name, target_key_id, creation_date, last_updated_date)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING alias_name`,
            [a.accountId, a.region, a.aliasName, a.targetKeyId, a.creationDate, a.lastUpdatedDate],
          )
        ).length === 1,
    );
  }

  async getAlias(accountId: string, region: string, aliasName: string): Promise<AliasRecord | undefined> {
    const r = (
      await this.q("SELECT * FROM kms_aliases WHERE account_id = $1 AND region = $2 AND alias_name = $3", [accountId, region, aliasName])
    )[0];
    return r ? toAlias(r) : undefined;
  }

  async updateAlias(accountId: string, region: string, aliasName: string, targetKeyId: string, now: number): Promise<boolean> {
    return this.write(
      async (q) =>
        (
          await q(
            "UPDATE kms_aliases SET target_key_id = $1, last_updated_date = $2 WHERE account_id = $3 AND region = $4 AND alias_name = $5 RETURNING alias_name",
            [targetKeyId, now, accountId, region, aliasName],
          )
        ).length === 1,
    );
  }

  async deleteAlias(accountId: string, region: string, aliasName: string): Promise<boolean> {
    return this.write(
      async (q) =>
        (
          await q("DELETE FROM kms_aliases WHERE account_id = $1 AND region = $2 AND alias_name = $3 RETURNING alias_name", [
            accountId,
            region,
            aliasName,
          ])
        ).length === 1,
    );
  }

  async listAliases(
    accountId: string,
    region: string,
    keyId: string | undefined,
    after: string | undefined,
    limit: number,
  ): Promise<Page<AliasRecord>> {
    const rows =
      keyId === undefined
        ? await this.q("SELECT * FROM kms_aliases WHERE account_id = $1 AND region = $2 AND alias_name > $3 ORDER BY alias_name LIMIT $4", [
            accountId,
            region,
            after ?? "",
            limit + 1,
          ])
        : await this.q(
            "SELECT * FROM kms_aliases WHERE account_id = $1 AND region = $2 AND target_key_id = $3 AND alias_name > $4 ORDER BY alias_name LIMIT $5",
            [accountId, region, keyId, after ?? "", limit + 1],
          );
    return page(rows.map(toAlias), limit, (a) => a.aliasName);
  }

  async putTags(keyId: string, tags: Tag[], maxTags: number): Promise<boolean> {
    try {
      await this.write(async (q) => {
        for (const t of tags) {
          await q(
            "INSERT INTO kms_tags (key_id, tag_key, tag_value) VALUES ($1, $2, $3) ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
            [keyId, t.TagKey, t.TagValue],
          );
        }
        const count = Number((await q("SELECT count(*) AS n FROM kms_tags WHERE key_id = $1", [keyId]))[0]!.n);
        if (count > maxTags) throw new TooManyTags(); // rolls the whole change back
      });
      return true;
    } catch (error) {
      if (error instanceof TooManyTags) return false;
      throw error;
    }
  }

  async removeTags(keyId: string, tagKeys: string[]): Promise<void> {
    await this.write((q) => q("DELETE FROM kms_tags WHERE key_id = $1 AND tag_key = ANY($2)", [keyId, tagKeys]));
  }

  async listTags(keyId: string, after: string | undefined, limit: number): Promise<Page<Tag>> {
    const rows = await this.q("SELECT tag_key, tag_value FROM kms_tags WHERE key_id = $1 AND tag_key > $2 ORDER BY tag_key LIMIT $3", [
      keyId,
      after ?? "",
      limit + 1,
    ]);
    return page(
      rows.map((r) => ({ TagKey: r.tag_key as string, TagValue: r.tag_value as string })),
      limit,
      (t) => t.TagKey,
    );
  }

  async putImportToken(t: ImportTokenRecord): Promise<void> {
    await this.write((q) =>
      q(
        `INSERT INTO kms_import_tokens (token, key_id, wrapping_algorithm, wrapping_key_spec, wrapped_private_key, valid_to)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [t.token, t.keyId, t.wrappingAlgorithm, t.wrappingKeySpec, t.wrappedPrivateKey, t.validTo],
      ),
    );
  }

  async getImportToken(token: string): Promise<ImportTokenRecord | undefined> {
    const r = (await this.q("SELECT * FROM kms_import_tokens WHERE token = $1", [token]))[0];
    return r ? toImportToken(r) : undefined;
  }

  async importKeyMaterial(version: KeyVersionRecord, patch: KeyPatch): Promise<void> {
    const { sets, values } = this.patchSql({ ...patch, currentVersion: version.version }, 1);
    await this.write(async (q) => {
      await q("DELETE FROM kms_key_versions WHERE key_id = $1", [version.keyId]);
      await this.insertVersion(q, version);
      await q(`UPDATE kms_keys SET ${sets} WHERE key_id = $${values.length + 1}`, [...values, version.keyId]);
    });
  }

  async deleteKeyMaterial(keyId: string, patch: KeyPatch): Promise<void> {
    const { sets, values } = this.patchSql({ ...patch, currentVersion: 0 }, 1);
    await this.write(async (q) => {
      await q("DELETE FROM kms_key_versions WHERE key_id = $1", [keyId]);
      await q(`UPDATE kms_keys SET ${sets} WHERE key_id = $${values.length + 1}`, [...values, keyId]);
    });
  }

  async keysWithExpiredMaterial(now: number): Promise<KeyRecord[]> {
    return (await this.q("SELECT * FROM kms_keys WHERE valid_to IS NOT NULL AND valid_to <= $1 AND current_version > 0", [now])).map(toKey);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.listener?.end().catch(() => undefined);
    await this.leaseHolder?.end().catch(() => undefined);
    await this.pool.end();
  }
}
